using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Dapr.DevSidecar.Components;

/// <summary>Everything read from the resources paths.</summary>
public sealed class LoadedResources
{
    public List<ComponentDefinition> Components { get; } = [];

    /// <summary>Other resource kinds (Configuration, Resiliency, Subscription), kept as parsed YAML for their owners.</summary>
    public List<(string Kind, string File, YamlMappingNode Node)> Others { get; } = [];

    public List<string> Warnings { get; } = [];
}

/// <summary>
/// Reads Dapr resource files (<c>*.yaml</c>, <c>*.yml</c>, several documents per file) from one or
/// more folders, as daprd does with <c>--resources-path</c>. Malformed files stop start-up with
/// a <see cref="ComponentLoadException"/> naming the file, the field and the reason.
/// </summary>
public static class ResourceLoader
{
    private static readonly HashSet<string> KnownKinds = new(StringComparer.Ordinal)
    {
        "Component", "Configuration", "Resiliency", "Subscription", "HTTPEndpoint",
    };

    public static LoadedResources Load(IEnumerable<string> resourcesPaths)
    {
        var result = new LoadedResources();
        foreach (var path in resourcesPaths)
        {
            if (File.Exists(path))
            {
                LoadFile(path, result);
                continue;
            }

            if (!Directory.Exists(path))
            {
                throw new ComponentLoadException(path, "resourcesPath", "the folder does not exist");
            }

            foreach (var file in Directory.EnumerateFiles(path)
                         .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
                         .Order(StringComparer.Ordinal))
            {
                LoadFile(file, result);
            }
        }

        var duplicates = result.Components.GroupBy(c => c.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).ToList();
        if (duplicates.Count > 0)
        {
            var d = duplicates[0].ToList();
            throw new ComponentLoadException(d[1].SourceFile, "metadata.name", $"component '{d[0].Name}' is already defined in {d[0].SourceFile}");
        }

        return result;
    }

    private static void LoadFile(string file, LoadedResources result)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(file);
            stream.Load(reader);
        }
        catch (YamlException ex)
        {
            throw new ComponentLoadException(file, $"line {ex.Start.Line}", $"not valid YAML: {ex.InnerException?.Message ?? ex.Message}");
        }

        foreach (var doc in stream.Documents)
        {
            if (doc.RootNode is YamlScalarNode { Value: null or "" })
            {
                continue;
            }

            if (doc.RootNode is not YamlMappingNode root)
            {
                throw new ComponentLoadException(file, "(document)", "a resource must be a YAML mapping");
            }

            var kind = Scalar(root, "kind");
            var apiVersion = Scalar(root, "apiVersion");
            if (string.IsNullOrEmpty(kind))
            {
                throw new ComponentLoadException(file, "kind", "missing; expected e.g. 'kind: Component'");
            }

            if (apiVersion is null || !apiVersion.StartsWith("dapr.io/", StringComparison.Ordinal))
            {
                throw new ComponentLoadException(file, "apiVersion", $"'{apiVersion}' is not a Dapr API version (expected dapr.io/v1alpha1)");
            }

            if (!KnownKinds.Contains(kind))
            {
                result.Warnings.Add($"{file}: kind '{kind}' is not a Dapr resource kind the dev sidecar knows; ignored.");
                continue;
            }

            if (kind == "Component")
            {
                result.Components.Add(ParseComponent(file, root));
            }
            else
            {
                result.Others.Add((kind, file, root));
            }
        }
    }

    private static ComponentDefinition ParseComponent(string file, YamlMappingNode root)
    {
        var metadata = Child<YamlMappingNode>(root, "metadata", file)
            ?? throw new ComponentLoadException(file, "metadata", "missing");
        var name = Scalar(metadata, "name");
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ComponentLoadException(file, "metadata.name", "missing");
        }

        var spec = Child<YamlMappingNode>(root, "spec", file)
            ?? throw new ComponentLoadException(file, "spec", $"missing in component '{name}'");
        var type = Scalar(spec, "type");
        if (string.IsNullOrWhiteSpace(type) || !type.Contains('.', StringComparison.Ordinal))
        {
            throw new ComponentLoadException(file, "spec.type", $"component '{name}' needs a type such as state.redis (got '{type}')");
        }

        var version = Scalar(spec, "version");
        if (string.IsNullOrWhiteSpace(version))
        {
            throw new ComponentLoadException(file, "spec.version", $"component '{name}' needs a version (e.g. v1)");
        }

        var entries = new List<MetadataEntry>();
        if (Child<YamlNode>(spec, "metadata", file) is { } metaNode)
        {
            if (metaNode is not YamlSequenceNode seq)
            {
                throw new ComponentLoadException(file, "spec.metadata", "must be a list of {name, value | secretKeyRef | envRef}");
            }

            var i = 0;
            foreach (var item in seq)
            {
                var field = $"spec.metadata[{i++}]";
                if (item is not YamlMappingNode m)
                {
                    throw new ComponentLoadException(file, field, "must be a mapping with name and value");
                }

                var entryName = Scalar(m, "name");
                if (string.IsNullOrWhiteSpace(entryName))
                {
                    throw new ComponentLoadException(file, field + ".name", "missing");
                }

                SecretKeyRef? secretRef = null;
                if (Child<YamlMappingNode>(m, "secretKeyRef", file) is { } sk)
                {
                    var secretName = Scalar(sk, "name");
                    if (string.IsNullOrWhiteSpace(secretName))
                    {
                        throw new ComponentLoadException(file, field + ".secretKeyRef.name", $"missing for metadata '{entryName}'");
                    }

                    secretRef = new SecretKeyRef(secretName, Scalar(sk, "key"));
                }

                var value = m.Children.TryGetValue(new YamlScalarNode("value"), out var vn) ? ValueToString(vn) : null;
                var envRef = Scalar(m, "envRef");
                if (value is null && secretRef is null && envRef is null)
                {
                    throw new ComponentLoadException(file, field, $"metadata '{entryName}' needs a value, a secretKeyRef or an envRef");
                }

                entries.Add(new MetadataEntry(entryName, value, secretRef, envRef));
            }
        }

        var scopes = new List<string>();
        if (Child<YamlNode>(root, "scopes", file) is { } scopesNode)
        {
            if (scopesNode is not YamlSequenceNode s)
            {
                throw new ComponentLoadException(file, "scopes", "must be a list of app-ids");
            }

            scopes.AddRange(s.Children.OfType<YamlScalarNode>().Select(x => x.Value ?? "").Where(x => x.Length > 0));
        }

        var auth = Child<YamlMappingNode>(root, "auth", file);
        return new ComponentDefinition
        {
            Name = name,
            Type = type,
            Version = version,
            RawMetadata = entries,
            Scopes = scopes,
            SecretStore = auth is null ? null : Scalar(auth, "secretStore"),
            IgnoreErrors = string.Equals(Scalar(spec, "ignoreErrors"), "true", StringComparison.OrdinalIgnoreCase),
            SourceFile = file,
        };
    }

    /// <summary>Reads a scalar child, or null.</summary>
    public static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;

    private static T? Child<T>(YamlMappingNode node, string key, string file) where T : YamlNode
    {
        if (!node.Children.TryGetValue(new YamlScalarNode(key), out var v))
        {
            return null;
        }

        if (v is YamlScalarNode { Value: null or "" or "~" })
        {
            return null;
        }

        return v as T ?? throw new ComponentLoadException(file, key, $"has the wrong shape (expected {(typeof(T) == typeof(YamlMappingNode) ? "a mapping" : typeof(T) == typeof(YamlSequenceNode) ? "a list" : "a value")})");
    }

    private static string ValueToString(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value ?? "",
        // daprd accepts structured values and hands them to the component as JSON.
        _ => System.Text.Json.JsonSerializer.Serialize(ToPlain(node)),
    };

    private static object? ToPlain(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value,
        YamlSequenceNode seq => seq.Children.Select(ToPlain).ToList(),
        YamlMappingNode map => map.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value ?? "", kv => ToPlain(kv.Value)),
        _ => null,
    };
}
