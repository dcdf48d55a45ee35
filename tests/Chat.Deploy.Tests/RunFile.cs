using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Chat.Deploy.Tests;

/// <summary>The apps of dapr.yaml, as far as the manifests must agree with them.</summary>
public sealed class RunFileApp
{
    [YamlMember(Alias = "appID")]
    public string AppId { get; set; } = "";
    public string AppDirPath { get; set; } = "";
    public int AppPort { get; set; }
    public string? AppProtocol { get; set; }
    public string? AppHealthCheckPath { get; set; }
    public Dictionary<string, string> Env { get; set; } = [];
    public List<string> Command { get; set; } = [];

    /// <summary>Every app of the repository's dapr.yaml.</summary>
    public static IReadOnlyList<RunFileApp> Load() => LoadFile("dapr.yaml").Apps;

    /// <summary>A run file of the repository root, e.g. dapr.scale.yaml.</summary>
    public static RunFileDoc LoadFile(string name)
    {
        var reader = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).IgnoreUnmatchedProperties().Build();
        return reader.Deserialize<RunFileDoc>(File.ReadAllText(Path.Combine(Repo.Root, name)));
    }
}

/// <summary>A run file: its common part and its apps (one entry per instance).</summary>
public sealed class RunFileDoc
{
    public RunFileCommon Common { get; set; } = new();
    public List<RunFileApp> Apps { get; set; } = [];
}

public sealed class RunFileCommon
{
    public List<string> ResourcesPaths { get; set; } = [];
    public Dictionary<string, string> Env { get; set; } = [];
}
