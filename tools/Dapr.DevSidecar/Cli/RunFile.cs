using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Dapr.DevSidecar.Cli;

/// <summary>One app of a run file, with the common section merged in and paths made absolute.</summary>
internal sealed record RunFileApp(
    string AppId,
    string AppDirPath,
    int? AppPort,
    string AppProtocol,
    string AppChannelAddress,
    IReadOnlyList<string> Command,
    IReadOnlyDictionary<string, string> Env,
    IReadOnlyList<string> ResourcesPaths,
    int DaprHttpPort,
    int DaprGrpcPort,
    string AppHealthCheckPath,
    int Replicas);

/// <summary>
/// Reads a Dapr multi-app run file (<c>dapr run -f</c>, version 1) the way the Dapr CLI does:
/// <c>common</c> gives defaults to every app; app paths are relative to <c>appDirPath</c>, which
/// is relative to the run file; resources come from the app's <c>resourcesPaths</c>, else
/// <c>appDirPath/.dapr/resources</c>, else <c>common.resourcesPaths</c>, else <c>~/.dapr/components</c>.
/// Several entries with one <c>appID</c> are several instances of that app, each with its own ports.
/// Dev-sidecar extension: <c>devSidecarReplicas</c> (per app) runs several instances of one entry.
/// </summary>
internal static class RunFile
{
    private static readonly HashSet<string> Implemented = new(StringComparer.Ordinal)
    {
        "appID", "appDirPath", "appPort", "appProtocol", "appChannelAddress", "command", "env", "resourcesPaths", "resourcesPath",
        "daprHTTPPort", "daprGRPCPort", "appHealthCheckPath", "devSidecarReplicas",
    };

    /// <summary>Fields the CLI knows that only matter to daprd's own processes; accepted silently.</summary>
    private static readonly HashSet<string> Ignored = new(StringComparer.Ordinal)
    {
        "logLevel", "daprdLogDestination", "appLogDestination", "enableAppHealthCheck", "appHealthProbeInterval", "appHealthProbeTimeout",
        "appHealthThreshold", "enableApiLogging", "runtimePath", "metricsPort", "profilePort", "enableProfiling", "appMaxConcurrency",
        "maxBodySize", "readBufferSize", "placementHostAddress", "schedulerHostAddress", "daprInternalGRPCPort", "apiListenAddresses",
    };

    public static (List<RunFileApp> Apps, List<string> Warnings) Load(string path)
    {
        var file = Path.GetFullPath(Directory.Exists(path) ? Path.Combine(path, "dapr.yaml") : path);
        if (!File.Exists(file))
        {
            throw new ArgumentException($"run file '{file}' does not exist");
        }

        YamlMappingNode root;
        try
        {
            var yaml = new YamlStream();
            using var reader = new StreamReader(file);
            yaml.Load(reader);
            root = yaml.Documents.FirstOrDefault()?.RootNode as YamlMappingNode
                ?? throw Bad(file, "(root)", "the run file must be a YAML mapping with 'version' and 'apps'");
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw Bad(file, $"line {ex.Start.Line}", $"invalid YAML: {ex.Message}");
        }

        var warnings = new List<string>();
        var baseDir = Path.GetDirectoryName(file)!;
        var version = Scalar(root, "version");
        if (version is null)
        {
            throw Bad(file, "version", "required field 'version' not found");
        }

        if (version != "1")
        {
            throw Bad(file, "version", $"only version 1 is supported (got '{version}')");
        }

        foreach (var key in Keys(root).Where(k => k is not ("version" or "common" or "apps" or "name")))
        {
            warnings.Add($"{file}: field '{key}' is not known and was ignored");
        }

        var common = root.Children.TryGetValue(new YamlScalarNode("common"), out var c) ? c as YamlMappingNode
            ?? throw Bad(file, "common", "must be a mapping") : new YamlMappingNode();
        CheckKeys(file, "common", common, warnings);
        var commonResources = StringList(file, "common.resourcesPaths", common, "resourcesPaths").Select(p => Absolute(baseDir, p)).ToList();
        if (Scalar(common, "resourcesPath") is { Length: > 0 } single)
        {
            commonResources.Add(Absolute(baseDir, single));
        }

        var commonEnv = StringMap(file, "common.env", common, "env");

        if (!root.Children.TryGetValue(new YamlScalarNode("apps"), out var appsNode) || appsNode is not YamlSequenceNode { Children.Count: > 0 } apps)
        {
            throw Bad(file, "apps", "at least one app is required");
        }

        var result = new List<RunFileApp>();
        for (var i = 0; i < apps.Children.Count; i++)
        {
            var at = $"apps[{i}]";
            if (apps.Children[i] is not YamlMappingNode app)
            {
                throw Bad(file, at, "must be a mapping");
            }

            CheckKeys(file, at, app, warnings);
            var dirField = Scalar(app, "appDirPath") ?? throw Bad(file, $"{at}.appDirPath", "required field 'appDirPath' not found");
            var dir = Absolute(baseDir, dirField);
            if (!Directory.Exists(dir))
            {
                throw Bad(file, $"{at}.appDirPath", $"directory '{dir}' does not exist");
            }

            var appId = Scalar(app, "appID") ?? Path.GetFileName(dir.TrimEnd(Path.DirectorySeparatorChar));
            var protocol = Scalar(app, "appProtocol") ?? Scalar(common, "appProtocol") ?? "http";
            if (protocol is not ("http" or "grpc"))
            {
                throw Bad(file, $"{at}.appProtocol", $"the dev sidecar supports app protocols http and grpc (got '{protocol}')");
            }

            var resources = StringList(file, $"{at}.resourcesPaths", app, "resourcesPaths").Select(p => Absolute(dir, p)).ToList();
            if (Scalar(app, "resourcesPath") is { Length: > 0 } appSingle)
            {
                resources.Add(Absolute(dir, appSingle));
            }

            if (resources.Count == 0)
            {
                var local = Path.Combine(dir, ".dapr", "resources");
                var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dapr", "components");
                resources = Directory.Exists(local) ? [local] : commonResources.Count > 0 ? commonResources : Directory.Exists(home) ? [home] : [];
            }

            foreach (var r in resources.Where(r => !Directory.Exists(r)))
            {
                throw Bad(file, $"{at}.resourcesPaths", $"directory '{r}' does not exist");
            }

            var env = new Dictionary<string, string>(commonEnv, StringComparer.Ordinal);
            foreach (var (k, v) in StringMap(file, $"{at}.env", app, "env"))
            {
                env[k] = v;
            }

            var command = StringList(file, $"{at}.command", app, "command");
            var replicas = Int(file, $"{at}.devSidecarReplicas", Scalar(app, "devSidecarReplicas"), 1, 64) ?? 1;
            result.Add(new RunFileApp(
                appId, dir,
                Int(file, $"{at}.appPort", Scalar(app, "appPort"), 1, 65535),
                protocol,
                Scalar(app, "appChannelAddress") ?? Scalar(common, "appChannelAddress") ?? "127.0.0.1",
                command, env, resources,
                Int(file, $"{at}.daprHTTPPort", Scalar(app, "daprHTTPPort"), 1, 65535) ?? 0,
                Int(file, $"{at}.daprGRPCPort", Scalar(app, "daprGRPCPort"), 1, 65535) ?? 0,
                Scalar(app, "appHealthCheckPath") ?? Scalar(common, "appHealthCheckPath") ?? "/healthz",
                replicas));

            // Two entries with one app id are two instances of it, as two `dapr run` of one app-id
            // would be; they need ports of their own.
            var added = result[^1];
            foreach (var (field, port, of) in new (string, int?, Func<RunFileApp, int?>)[]
            {
                ("appPort", added.AppPort, r => r.AppPort),
                ("daprHTTPPort", added.DaprHttpPort, r => r.DaprHttpPort),
                ("daprGRPCPort", added.DaprGrpcPort, r => r.DaprGrpcPort),
            })
            {
                if (port is > 0 && result.SkipLast(1).Any(r => r.AppId == appId && of(r) == port))
                {
                    throw Bad(file, $"{at}.{field}", $"another instance of app '{appId}' already uses {field} {port}");
                }
            }
        }

        return (result, warnings);
    }

    private static ArgumentException Bad(string file, string field, string reason) => new($"{file}: {field}: {reason}");

    private static IEnumerable<string> Keys(YamlMappingNode node) => node.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value ?? "");

    private static void CheckKeys(string file, string at, YamlMappingNode node, List<string> warnings)
    {
        foreach (var key in Keys(node))
        {
            if (key == "configFilePath")
            {
                warnings.Add($"{file}: {at}.configFilePath: Configuration files are not read from the run file by the dev sidecar; ignored");
            }
            else if (!Implemented.Contains(key) && !Ignored.Contains(key))
            {
                warnings.Add($"{file}: {at}.{key}: not supported by the dev sidecar; ignored");
            }
        }
    }

    private static string? Scalar(YamlMappingNode node, string key)
    {
        if (!node.Children.TryGetValue(new YamlScalarNode(key), out var value))
        {
            return null;
        }

        return value is YamlScalarNode s ? s.Value : throw new ArgumentException($"field '{key}' must be a single value (line {value.Start.Line})");
    }

    private static int? Int(string file, string field, string? value, int min, int max)
    {
        if (value is null)
        {
            return null;
        }

        return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw Bad(file, field, $"must be a number from {min} to {max} (got '{value}')");
    }

    private static List<string> StringList(string file, string field, YamlMappingNode node, string key)
    {
        if (!node.Children.TryGetValue(new YamlScalarNode(key), out var value))
        {
            return [];
        }

        return value switch
        {
            YamlSequenceNode seq => seq.Children.Select(n => n is YamlScalarNode s ? s.Value ?? "" : throw Bad(file, field, "must be a list of strings")).ToList(),
            YamlScalarNode { Value: { Length: > 0 } one } => [one],
            _ => throw Bad(file, field, "must be a list of strings"),
        };
    }

    private static Dictionary<string, string> StringMap(string file, string field, YamlMappingNode node, string key)
    {
        if (!node.Children.TryGetValue(new YamlScalarNode(key), out var value))
        {
            return [];
        }

        if (value is not YamlMappingNode map)
        {
            throw Bad(file, field, "must be a mapping of names to values");
        }

        return map.Children.ToDictionary(
            e => (e.Key as YamlScalarNode)?.Value ?? throw Bad(file, field, "names must be strings"),
            e => (e.Value as YamlScalarNode)?.Value ?? throw Bad(file, $"{field}.{e.Key}", "must be a single value"),
            StringComparer.Ordinal);
    }

    private static string Absolute(string baseDir, string path)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
        {
            path = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.TrimStart('~', '/'));
        }

        return Path.GetFullPath(Path.Combine(baseDir, path));
    }
}
