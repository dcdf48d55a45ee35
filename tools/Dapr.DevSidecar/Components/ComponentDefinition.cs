namespace Dapr.DevSidecar.Components;

/// <summary>One metadata entry of a component as written in YAML, before secrets are resolved.</summary>
public sealed record MetadataEntry(string Name, string? Value, SecretKeyRef? SecretKeyRef, string? EnvRef);

/// <summary>A <c>secretKeyRef</c>: the secret <see cref="Name"/> and, for multi-valued secrets, the <see cref="Key"/>.</summary>
public sealed record SecretKeyRef(string Name, string? Key);

/// <summary>A parsed <c>kind: Component</c> resource.</summary>
public sealed class ComponentDefinition
{
    public required string Name { get; init; }

    /// <summary>The Dapr component type, e.g. <c>state.redis</c>.</summary>
    public required string Type { get; init; }

    public string Version { get; init; } = "v1";

    public IReadOnlyList<MetadataEntry> RawMetadata { get; init; } = [];

    /// <summary>The secret store named by <c>auth.secretStore</c>, used for <c>secretKeyRef</c>s.</summary>
    public string? SecretStore { get; init; }

    /// <summary>App-ids allowed to use the component; empty means every app.</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];

    public bool IgnoreErrors { get; init; }

    /// <summary>The file the component came from, for error messages.</summary>
    public required string SourceFile { get; init; }

    /// <summary>Metadata after <c>secretKeyRef</c> and <c>envRef</c> resolution (case-insensitive names).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The building block: the part of <see cref="Type"/> before the first dot.</summary>
    public string Category => Type.Split('.', 2)[0];

    public bool IsInScope(string appId) => Scopes.Count == 0 || Scopes.Contains(appId, StringComparer.Ordinal);

    public string? Get(string key) => Metadata.TryGetValue(key, out var v) && !string.IsNullOrEmpty(v) ? v : null;

    public bool GetBool(string key, bool fallback = false) =>
        Get(key) is { } v ? v.Equals("true", StringComparison.OrdinalIgnoreCase) || v == "1" : fallback;

    public int GetInt(string key, int fallback) =>
        Get(key) is { } v && int.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var i) ? i : fallback;

    public override string ToString() => $"{Name} ({Type}) from {SourceFile}";
}

/// <summary>A component file (or field in it) that cannot be used; start-up stops with this message.</summary>
public sealed class ComponentLoadException(string file, string field, string reason)
    : Exception($"{file}: {field}: {reason}")
{
    public string File { get; } = file;
    public string Field { get; } = field;
    public string Reason { get; } = reason;
}
