using System.Text.Json;

namespace Dapr.DevSidecar.Actors;

/// <summary>How daprd runs one actor type, from the app's <c>GET /dapr/config</c> (with <c>entitiesConfig</c> overrides applied).</summary>
public sealed record ActorTypeConfig(
    string ActorType,
    TimeSpan IdleTimeout,
    TimeSpan DrainOngoingCallTimeout,
    bool DrainRebalancedActors,
    bool ReentrancyEnabled,
    int MaxStackDepth);

/// <summary>The app's actor configuration: the types it hosts and the scan interval for idle actors.</summary>
public sealed record ActorAppConfig(IReadOnlyDictionary<string, ActorTypeConfig> Types, TimeSpan ScanInterval)
{
    // daprd's defaults (pkg/actors/api/config.go and hostconfig).
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(60);
    public static readonly TimeSpan DefaultScanInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultDrainOngoingCallTimeout = TimeSpan.FromSeconds(2);
    public const int DefaultMaxStackDepth = 32;

    public static readonly ActorAppConfig None = new(new Dictionary<string, ActorTypeConfig>(), DefaultScanInterval);

    /// <summary>
    /// Reads the <c>/dapr/config</c> body. Durations are Go durations (the SDK writes
    /// <c>0h1m0s0ms</c>); a value daprd cannot parse falls back to the default, as daprd does.
    /// </summary>
    public static ActorAppConfig Parse(ReadOnlySpan<byte> json)
    {
        using var doc = JsonDocument.Parse(json.ToArray());
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return None;
        }

        var app = ReadOptions(root, new Options(DefaultIdleTimeout, DefaultDrainOngoingCallTimeout, false, false, DefaultMaxStackDepth));
        var scan = Duration(root, "actorScanInterval") ?? DefaultScanInterval;
        var types = new Dictionary<string, ActorTypeConfig>(StringComparer.Ordinal);
        foreach (var type in Strings(root, "entities"))
        {
            types[type] = app.For(type);
        }

        if (Property(root, "entitiesConfig") is { ValueKind: JsonValueKind.Array } perType)
        {
            foreach (var entry in perType.EnumerateArray())
            {
                var options = ReadOptions(entry, app);
                foreach (var type in Strings(entry, "entities"))
                {
                    if (types.ContainsKey(type))
                    {
                        types[type] = options.For(type);
                    }
                }
            }
        }

        return new ActorAppConfig(types, scan > TimeSpan.Zero ? scan : DefaultScanInterval);
    }

    private sealed record Options(TimeSpan Idle, TimeSpan Drain, bool DrainRebalanced, bool Reentrancy, int MaxDepth)
    {
        public ActorTypeConfig For(string type) => new(type, Idle, Drain, DrainRebalanced, Reentrancy, MaxDepth);
    }

    private static Options ReadOptions(JsonElement e, Options fallback)
    {
        var reentrancy = fallback.Reentrancy;
        var maxDepth = fallback.MaxDepth;
        if (Property(e, "reentrancy") is { ValueKind: JsonValueKind.Object } r)
        {
            reentrancy = Property(r, "enabled") is { ValueKind: JsonValueKind.True };
            maxDepth = Property(r, "maxStackDepth") is { ValueKind: JsonValueKind.Number } d && d.TryGetInt32(out var depth) ? depth : DefaultMaxStackDepth;
        }

        var drainRebalanced = Property(e, "drainRebalancedActors") is { } b && b.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? b.ValueKind == JsonValueKind.True
            : fallback.DrainRebalanced;
        return new Options(
            Duration(e, "actorIdleTimeout") is { } idle && idle > TimeSpan.Zero ? idle : fallback.Idle,
            Duration(e, "drainOngoingCallTimeout") ?? fallback.Drain,
            drainRebalanced,
            reentrancy,
            maxDepth);
    }

    private static TimeSpan? Duration(JsonElement e, string name) =>
        Property(e, name) is { ValueKind: JsonValueKind.String } s && ActorDurations.TryParseGo(s.GetString()!) is { } d ? d : null;

    private static IEnumerable<string> Strings(JsonElement e, string name) =>
        Property(e, name) is { ValueKind: JsonValueKind.Array } a
            ? a.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList()
            : [];

    // Go's encoding/json matches field names case-insensitively; so do we.
    private static JsonElement? Property(JsonElement e, string name)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var p in e.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return p.Value;
            }
        }

        return null;
    }
}
