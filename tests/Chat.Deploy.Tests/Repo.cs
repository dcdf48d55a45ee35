namespace Chat.Deploy.Tests;

/// <summary>Paths inside the repository, found from the test binaries.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Kubernetes => Path.Combine(Root, "deploy", "kubernetes");

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
