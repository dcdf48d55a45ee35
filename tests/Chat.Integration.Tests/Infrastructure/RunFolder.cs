using System.Text.Json;
using System.Text.RegularExpressions;
using Chat.Domain;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>Which of the repo's component sets a run uses.</summary>
public enum ComponentSet
{
    /// <summary><c>components/embedded</c>: SQLite state, in-memory pub/sub.</summary>
    Embedded,

    /// <summary><c>components/redis</c>: Redis state and Redis Streams pub/sub on a real redis-server.</summary>
    Redis,
}

/// <summary>
/// A change a test makes to one component of the set (e.g. a push binding pointed at a fake push
/// service): its <see cref="Type"/> and the named <see cref="Metadata"/> fields, each replaced (or
/// added when the repo's file does not have it). Everything else stays as in the repo.
/// </summary>
public sealed record ComponentChange(string Component)
{
    /// <summary>In a metadata value: the component's type as the repo's file has it (for wrapping types).</summary>
    public const string OriginalType = "{original-type}";

    public string? Type { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// The folder of one run, laid out like the repo root the sidecars of <c>./run.sh</c> work in:
/// <c>components/</c> holds <c>components/{set}</c> of the repo as it is, and <c>data/</c> the run's
/// own SQLite files and media. Only these fields of the copied YAML change, all here:
/// <list type="bullet">
/// <item>paths relative to the sidecar's working directory (<c>"data/…"</c>, <c>"file:data/…"</c>, <c>"components/…"</c>) become
/// absolute: data/ is this run's, components/ the repo's (as a sidecar started in this folder would read them);</item>
/// <item><c>redisHost</c>: this run's redis-server instead of 127.0.0.1:6379;</item>
/// <item>URLs on the gateway's client port of dapr.yaml (127.0.0.1:5080, the development push sink): this run's first gateway;</item>
/// <item>with extra secrets, chat-secrets' <c>secretsFile</c>: a copy of the repo's secrets with those added;</item>
/// <item>what the test names in <see cref="ComponentChange"/>s (applied first, so their values are read
/// like the repo's: <c>"data/x.db"</c> is a file of the run).</item>
/// </list>
/// </summary>
public sealed partial class RunFolder
{
    /// <summary>The gateway's client port in dapr.yaml, which the development push bindings post to.</summary>
    private const string DevGatewayOrigin = "http://127.0.0.1:5080/";

    private RunFolder(string root)
    {
        Root = root;
        ComponentsPath = Path.Combine(root, "components");
        DataPath = Path.Combine(root, "data");
        System.IO.Directory.CreateDirectory(ComponentsPath);
        System.IO.Directory.CreateDirectory(DataPath);
    }

    public string Root { get; }

    /// <summary>The resources path every sidecar of the run loads.</summary>
    public string ComponentsPath { get; }

    /// <summary>Where the run's SQLite files (<c>messages.db</c>, …) and media (<c>media/</c>) live.</summary>
    public string DataPath { get; }

    /// <summary>The secrets of the repo's local secret store (components/embedded/secrets.json), which both sets read.</summary>
    public static IReadOnlyDictionary<string, string> RepoSecrets { get; } =
        JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(RepoPaths.Components("embedded"), "secrets.json")))!;

    /// <summary>Creates the folder and writes the set with the changes described on the class.</summary>
    public static RunFolder Create(
        ComponentSet set, string? redisEndpoint, string gatewayOrigin,
        IReadOnlyDictionary<string, string>? secrets = null, IEnumerable<ComponentChange>? changes = null, string prefix = "chat-it-")
    {
        var run = new RunFolder(System.IO.Directory.CreateTempSubdirectory(prefix).FullName);
        var byName = (changes ?? []).ToLookup(c => c.Component, StringComparer.Ordinal);
        string? secretsFile = null;
        if (secrets is { Count: > 0 })
        {
            var merged = new Dictionary<string, string>(RepoSecrets, StringComparer.Ordinal);
            foreach (var (k, v) in secrets)
            {
                merged[k] = v;
            }

            secretsFile = Path.Combine(run.Root, "secrets.json");
            File.WriteAllText(secretsFile, JsonSerializer.Serialize(merged));
        }

        var source = RepoPaths.Components(SetFolder(set));
        foreach (var file in System.IO.Directory.GetFiles(source, "*.yaml"))
        {
            var yaml = File.ReadAllText(file);
            var name = NameOf(yaml);
            foreach (var change in byName[name])
            {
                var original = TypeLine().Match(yaml).Groups[2].Value;
                if (change.Type is { } type)
                {
                    yaml = TypeLine().Replace(yaml, m => m.Groups[1].Value + type, 1);
                }

                foreach (var (field, value) in change.Metadata)
                {
                    yaml = SetField(yaml, field, value.Replace(ComponentChange.OriginalType, original, StringComparison.Ordinal));
                }
            }

            yaml = yaml
                .Replace("\"data/", $"\"{run.DataPath}/", StringComparison.Ordinal)
                .Replace("\"file:data/", $"\"file:{run.DataPath}/", StringComparison.Ordinal)
                .Replace("\"components/", $"\"{RepoPaths.Root}/components/", StringComparison.Ordinal)
                .Replace("\"" + DevGatewayOrigin, "\"" + gatewayOrigin.TrimEnd('/') + "/", StringComparison.Ordinal);
            if (HasField(yaml, "redisHost"))
            {
                yaml = SetField(yaml, "redisHost", redisEndpoint ?? throw new ArgumentException($"components/{SetFolder(set)} needs a redis-server", nameof(redisEndpoint)));
            }

            if (name == DaprNames.Secrets.Store && secretsFile is not null)
            {
                yaml = SetField(yaml, "secretsFile", secretsFile);
            }

            File.WriteAllText(Path.Combine(run.ComponentsPath, Path.GetFileName(file)), yaml);
        }

        var unknown = byName.Select(g => g.Key).Where(n => !File.Exists(Path.Combine(run.ComponentsPath, n + ".yaml"))).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"components/{SetFolder(set)} has no component {string.Join(", ", unknown)}", nameof(changes));
        }

        return run;
    }

    public static string SetFolder(ComponentSet set) => set switch
    {
        ComponentSet.Embedded => "embedded",
        ComponentSet.Redis => "redis",
        _ => throw new ArgumentOutOfRangeException(nameof(set)),
    };

    /// <summary>Deletes the folder (SQLite may still hold a file for a moment: a leftover temp folder is harmless).</summary>
    public void Delete()
    {
        try
        {
            System.IO.Directory.Delete(Root, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static string NameOf(string yaml) => ComponentName().Match(yaml).Groups[1].Value;

    private static bool HasField(string yaml, string field) => FieldValue(field).IsMatch(yaml);

    /// <summary>Replaces the value of metadata <paramref name="field"/>, or adds the field first in spec.metadata.</summary>
    private static string SetField(string yaml, string field, string value)
    {
        var quoted = Quote(value);
        var entry = FieldValue(field);
        if (entry.IsMatch(yaml))
        {
            return entry.Replace(yaml, m => m.Groups[1].Value + quoted, 1);
        }

        return SpecMetadata().Replace(yaml, m => $"{m.Groups[1].Value}metadata:\n{m.Groups[1].Value}  - name: {field}\n{m.Groups[1].Value}    value: {quoted}", 1);
    }

    private static Regex FieldValue(string field) =>
        new($@"(?m)^(\s*- name: {Regex.Escape(field)}\s*\r?\n\s*value: ).*$", RegexOptions.CultureInvariant);

    /// <summary>YAML double-quoted, so values may hold newlines (PEM keys).</summary>
    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"";

    [GeneratedRegex(@"(?m)^metadata:\s*\r?\n\s+name:\s*(\S+)")]
    private static partial Regex ComponentName();

    [GeneratedRegex(@"(?m)^(  type: )(\S+)")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"(?m)^(  )metadata:(?: \[\])?[ \t]*$")]
    private static partial Regex SpecMetadata();
}
