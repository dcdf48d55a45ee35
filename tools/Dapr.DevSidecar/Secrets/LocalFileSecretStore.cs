using System.Globalization;
using System.Text.Json;
using Dapr.DevSidecar.Components;

namespace Dapr.DevSidecar.Secrets;

/// <summary>
/// <c>secretstores.local.file</c>: secrets from a JSON file (<c>secretsFile</c>, relative to the
/// current directory), read once at start as components-contrib does. Nested objects and arrays
/// are flattened to names joined by <c>nestedSeparator</c> (default <c>:</c>); with
/// <c>multiValued: "true"</c> each top-level object is one secret with several keys instead.
/// </summary>
public sealed class LocalFileSecretStore : ISecretStore
{
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _secrets = new(StringComparer.Ordinal);

    public LocalFileSecretStore(ComponentDefinition def)
    {
        var file = def.Get("secretsFile")
            ?? throw new ComponentLoadException(def.SourceFile, "spec.metadata[secretsFile]", $"component '{def.Name}' (secretstores.local.file) needs secretsFile: the path of a JSON file");
        var separator = def.Get("nestedSeparator") ?? ":";
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            root = doc.RootElement.Clone();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new ComponentLoadException(def.SourceFile, "spec.metadata[secretsFile]", $"cannot read secrets file '{Path.GetFullPath(file)}': {ex.Message}");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ComponentLoadException(def.SourceFile, "spec.metadata[secretsFile]", $"secrets file '{file}' must hold a JSON object");
        }

        if (def.GetBool("multiValued"))
        {
            foreach (var top in root.EnumerateObject())
            {
                if (top.Value.ValueKind == JsonValueKind.Object)
                {
                    var values = new Dictionary<string, string>(StringComparer.Ordinal);
                    Flatten(top.Value, "", separator, values);
                    _secrets[top.Name] = values;
                }
                else if (top.Value.ValueKind == JsonValueKind.String)
                {
                    _secrets[top.Name] = new Dictionary<string, string> { [top.Name] = top.Value.GetString()! };
                }
            }
        }
        else
        {
            var flat = new Dictionary<string, string>(StringComparer.Ordinal);
            Flatten(root, "", separator, flat);
            foreach (var (name, value) in flat)
            {
                _secrets[name] = new Dictionary<string, string> { [name] = value };
            }
        }
    }

    public Task<IReadOnlyDictionary<string, string>?> GetSecretAsync(string name, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken) =>
        Task.FromResult(_secrets.TryGetValue(name, out var secret) ? secret : null);

    public Task<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>> GetBulkSecretAsync(IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>>(_secrets);

    private static void Flatten(JsonElement element, string path, string separator, Dictionary<string, string> into)
    {
        string Child(string name) => path.Length == 0 ? name : path + separator + name;
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                {
                    Flatten(p.Value, Child(p.Name), separator, into);
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(item, Child((i++).ToString(CultureInfo.InvariantCulture)), separator, into);
                }

                break;
            case JsonValueKind.String:
                into[path] = element.GetString()!;
                break;
            default:
                into[path] = element.GetRawText();
                break;
        }
    }
}

/// <summary>
/// <c>secretstores.local.env</c>: a secret is the environment variable of that name (after the
/// optional <c>prefix</c>). As in components-contrib, a missing variable is an empty value, and
/// <c>DAPR_*</c> and <c>APP_API_TOKEN</c> are never exposed.
/// </summary>
public sealed class LocalEnvSecretStore(ComponentDefinition def) : ISecretStore
{
    private readonly string _prefix = def.Get("prefix") ?? "";

    public Task<IReadOnlyDictionary<string, string>?> GetSecretAsync(string name, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var variable = _prefix + name;
        var value = Allowed(variable) ? Environment.GetEnvironmentVariable(variable) ?? "" : "";
        return Task.FromResult<IReadOnlyDictionary<string, string>?>(new Dictionary<string, string> { [name] = value });
    }

    public Task<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>> GetBulkSecretAsync(IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            var key = (string)e.Key;
            if (key.Length > _prefix.Length && key.StartsWith(_prefix, StringComparison.Ordinal) && Allowed(key))
            {
                var name = key[_prefix.Length..];
                result[name] = new Dictionary<string, string> { [name] = (string?)e.Value ?? "" };
            }
        }

        return Task.FromResult<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>>(result);
    }

    private static bool Allowed(string variable) =>
        !variable.Equals("APP_API_TOKEN", StringComparison.OrdinalIgnoreCase)
        && !variable.StartsWith("DAPR_", StringComparison.OrdinalIgnoreCase);
}
