namespace Chat.Integration.Tests.Infrastructure;

/// <summary>Paths inside the repository, found from the test binaries.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Components(string set) => Path.Combine(Root, "components", set);

    /// <summary>The gateway's web root: the web client's static files and its built bundle.</summary>
    public static string GatewayWebRoot => Path.Combine(Root, "services", "Chat.Gateway", "wwwroot");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Chat.Dapr.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Chat.Dapr.sln above {AppContext.BaseDirectory}.");
    }
}
