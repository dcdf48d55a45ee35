namespace Dapr.DevSidecar.Tests.Infrastructure;

/// <summary>Where the repository and the other projects' build outputs are, seen from the test assembly.</summary>
public static class RepoPaths
{
    public static readonly string Root = FindRoot();

    /// <summary>bin/{Configuration}/net10.0 of the test: the sidecar and the programs it starts were built the same way.</summary>
    public static readonly string Configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    /// <summary>The built dll of a project of the repository.</summary>
    public static string Built(string projectDir, string assembly) =>
        Path.Combine(Root, projectDir, "bin", Configuration, "net10.0", assembly + ".dll");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Chat.Dapr.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
