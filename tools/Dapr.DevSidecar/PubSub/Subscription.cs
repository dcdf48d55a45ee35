using System.Text.Json;
using Dapr.DevSidecar.Components;
using YamlDotNet.RepresentationModel;

namespace Dapr.DevSidecar.PubSub;

/// <summary>A routing rule: the path to deliver to when <see cref="Match"/> holds (null: always, the default route).</summary>
public sealed record SubscriptionRule(RouteMatch? Match, string Path);

/// <summary>
/// A bulk subscription's batching (<c>bulkSubscribe</c>): a batch is sent when it holds
/// <see cref="MaxMessagesCount"/> messages or <see cref="MaxAwaitDuration"/> after its first message arrived.
/// </summary>
public sealed record BulkSubscribeOptions(int MaxMessagesCount, TimeSpan MaxAwaitDuration)
{
    /// <summary>daprd's defaults (<c>pkg/runtime/pubsub/default_bulksub.go</c>), used for a missing or non-positive value.</summary>
    public const int DefaultMaxMessagesCount = 100;

    public const int DefaultMaxAwaitDurationMs = 1000;

    public static BulkSubscribeOptions Create(int? maxMessagesCount, int? maxAwaitDurationMs) =>
        new(maxMessagesCount is > 0 and { } n ? n : DefaultMaxMessagesCount,
            TimeSpan.FromMilliseconds(maxAwaitDurationMs is > 0 and { } ms ? ms : DefaultMaxAwaitDurationMs));
}

/// <summary>One subscription of an app, from <c>GET /dapr/subscribe</c> or a <c>kind: Subscription</c> resource.</summary>
public sealed class Subscription
{
    public required string PubSubName { get; init; }

    public required string Topic { get; init; }

    /// <summary>Rules in order; the default route, if any, is last with no match.</summary>
    public required IReadOnlyList<SubscriptionRule> Rules { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    public string? DeadLetterTopic { get; init; }

    public bool RawPayload { get; init; }

    /// <summary>Set for a bulk subscription: messages go to the app in batches.</summary>
    public BulkSubscribeOptions? Bulk { get; init; }

    /// <summary>True when routing needs the event's fields (a rule with a match), not only the default route.</summary>
    public bool RoutesByContent => Rules.Any(r => r.Match is not null);

    /// <summary>Where it came from, for messages.</summary>
    public required string Source { get; init; }

    /// <summary>The path for <paramref name="cloudEvent"/>, or null when no rule matches (the event is dropped).</summary>
    public string? RouteFor(System.Text.Json.Nodes.JsonObject cloudEvent) =>
        Rules.FirstOrDefault(r => r.Match is null || r.Match.Matches(cloudEvent))?.Path;

    public override string ToString() => $"{PubSubName}/{Topic} ({Source})";

    /// <summary>Normalises a route as daprd does: a leading slash.</summary>
    public static string NormalizePath(string path) => path.StartsWith('/') ? path : "/" + path;

    /// <summary>
    /// Reads the app's answer to <c>GET /dapr/subscribe</c> (field names case-insensitive).
    /// Returns the subscriptions and warnings; throws <see cref="FormatException"/> on an unusable entry.
    /// </summary>
    public static (List<Subscription> Subscriptions, List<string> Warnings) ParseProgrammatic(string json, string appId)
    {
        var result = new List<Subscription>();
        var warnings = new List<string>();
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"app '{appId}': GET /dapr/subscribe must answer a JSON array");
        }

        var i = 0;
        foreach (var item in doc.RootElement.EnumerateArray())
        {
            var source = $"app '{appId}' GET /dapr/subscribe [{i++}]";
            var pubsub = Str(item, "pubsubname") ?? throw new FormatException($"{source}: pubsubname is missing");
            var topic = Str(item, "topic") ?? throw new FormatException($"{source}: topic is missing");
            var rules = new List<SubscriptionRule>();
            string? defaultPath = null;
            if (Prop(item, "routes") is { ValueKind: JsonValueKind.Object } routes)
            {
                if (Prop(routes, "rules") is { ValueKind: JsonValueKind.Array } ruleArray)
                {
                    foreach (var rule in ruleArray.EnumerateArray())
                    {
                        rules.Add(Rule(Str(rule, "match"), Str(rule, "path"), source));
                    }
                }

                defaultPath = Str(routes, "default");
            }

            defaultPath ??= Str(item, "route");
            if (!string.IsNullOrEmpty(defaultPath))
            {
                rules.Add(new SubscriptionRule(null, NormalizePath(defaultPath)));
            }

            if (rules.Count == 0)
            {
                throw new FormatException($"{source}: topic '{topic}' has neither a route nor routes");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (Prop(item, "metadata") is { ValueKind: JsonValueKind.Object } md)
            {
                foreach (var p in md.EnumerateObject())
                {
                    metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
                }
            }

            BulkSubscribeOptions? bulkOptions = null;
            if (Prop(item, "bulkSubscribe") is { ValueKind: JsonValueKind.Object } bulk && Prop(bulk, "enabled") is { ValueKind: JsonValueKind.True })
            {
                bulkOptions = BulkSubscribeOptions.Create(Int(bulk, "maxMessagesCount"), Int(bulk, "maxAwaitDurationMs"));
            }

            result.Add(new Subscription
            {
                PubSubName = pubsub,
                Topic = topic,
                Rules = rules,
                Metadata = metadata,
                DeadLetterTopic = NullIfEmpty(Str(item, "deadLetterTopic")),
                RawPayload = PubSubApi.IsRawPayload(metadata, pubsub),
                Bulk = bulkOptions,
                Source = source,
            });
        }

        return (result, warnings);
    }

    /// <summary>
    /// Reads the <c>kind: Subscription</c> resources (dapr.io/v2alpha1 and v1alpha1) in scope for
    /// <paramref name="appId"/>; throws <see cref="ComponentLoadException"/> naming the file and field.
    /// </summary>
    public static List<Subscription> ParseDeclarative(LoadedResources resources, string appId)
    {
        var result = new List<Subscription>();
        foreach (var (kind, file, root) in resources.Others.Where(o => o.Kind == "Subscription"))
        {
            if (root.Children.TryGetValue(new YamlScalarNode("scopes"), out var scopes) && scopes is YamlSequenceNode seq
                && seq.Children.Count > 0 && !seq.Children.OfType<YamlScalarNode>().Any(s => s.Value == appId))
            {
                continue;
            }

            var name = root.Children.TryGetValue(new YamlScalarNode("metadata"), out var m) && m is YamlMappingNode meta ? ResourceLoader.Scalar(meta, "name") : null;
            var source = $"{file} (Subscription '{name}')";
            if (!root.Children.TryGetValue(new YamlScalarNode("spec"), out var specNode) || specNode is not YamlMappingNode spec)
            {
                throw new ComponentLoadException(file, "spec", $"missing in {kind} '{name}'");
            }

            var pubsub = ResourceLoader.Scalar(spec, "pubsubname") ?? throw new ComponentLoadException(file, "spec.pubsubname", "missing");
            var topic = ResourceLoader.Scalar(spec, "topic") ?? throw new ComponentLoadException(file, "spec.topic", "missing");
            var rules = new List<SubscriptionRule>();
            string? defaultPath = ResourceLoader.Scalar(spec, "route");
            if (spec.Children.TryGetValue(new YamlScalarNode("routes"), out var routesNode) && routesNode is YamlMappingNode routes)
            {
                if (routes.Children.TryGetValue(new YamlScalarNode("rules"), out var rulesNode) && rulesNode is YamlSequenceNode ruleSeq)
                {
                    foreach (var rule in ruleSeq.Children.OfType<YamlMappingNode>())
                    {
                        try
                        {
                            rules.Add(Rule(ResourceLoader.Scalar(rule, "match"), ResourceLoader.Scalar(rule, "path"), source));
                        }
                        catch (FormatException ex)
                        {
                            throw new ComponentLoadException(file, "spec.routes.rules", ex.Message);
                        }
                    }
                }

                defaultPath = ResourceLoader.Scalar(routes, "default") ?? defaultPath;
            }

            if (!string.IsNullOrEmpty(defaultPath))
            {
                rules.Add(new SubscriptionRule(null, NormalizePath(defaultPath)));
            }

            if (rules.Count == 0)
            {
                throw new ComponentLoadException(file, "spec.routes", $"subscription '{name}' has neither spec.route nor spec.routes");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (spec.Children.TryGetValue(new YamlScalarNode("metadata"), out var mdNode) && mdNode is YamlMappingNode md)
            {
                foreach (var (k, v) in md.Children)
                {
                    metadata[((YamlScalarNode)k).Value ?? ""] = (v as YamlScalarNode)?.Value ?? "";
                }
            }

            result.Add(new Subscription
            {
                PubSubName = pubsub,
                Topic = topic,
                Rules = rules,
                Metadata = metadata,
                DeadLetterTopic = NullIfEmpty(ResourceLoader.Scalar(spec, "deadLetterTopic")),
                RawPayload = PubSubApi.IsRawPayload(metadata, pubsub),
                Bulk = DeclarativeBulk(spec, file),
                Source = source,
            });
        }

        return result;
    }

    /// <summary><c>spec.bulkSubscribe</c> of a Subscription resource: <c>enabled</c>, <c>maxMessagesCount</c>, <c>maxAwaitDurationMs</c>.</summary>
    private static BulkSubscribeOptions? DeclarativeBulk(YamlMappingNode spec, string file)
    {
        if (!spec.Children.TryGetValue(new YamlScalarNode("bulkSubscribe"), out var node) || node is not YamlMappingNode bulk
            || !bool.TryParse(ResourceLoader.Scalar(bulk, "enabled"), out var enabled) || !enabled)
        {
            return null;
        }

        int? Number(string key)
        {
            var text = ResourceLoader.Scalar(bulk, key);
            return text is null ? null
                : int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n
                : throw new ComponentLoadException(file, $"spec.bulkSubscribe.{key}", $"'{text}' is not a whole number");
        }

        return BulkSubscribeOptions.Create(Number("maxMessagesCount"), Number("maxAwaitDurationMs"));
    }

    private static SubscriptionRule Rule(string? match, string? path, string source)
    {
        if (string.IsNullOrEmpty(path))
        {
            throw new FormatException($"{source}: a routing rule has no path");
        }

        if (string.IsNullOrWhiteSpace(match))
        {
            return new SubscriptionRule(null, NormalizePath(path));
        }

        try
        {
            return new SubscriptionRule(RouteMatch.Parse(match), NormalizePath(path));
        }
        catch (FormatException ex)
        {
            throw new FormatException($"{source}: {ex.Message}", ex);
        }
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static JsonElement? Prop(JsonElement e, string name)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var p in e.EnumerateObject())
        {
            if (p.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return p.Value;
            }
        }

        return null;
    }

    private static int? Int(JsonElement e, string name) =>
        Prop(e, name) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out var n) ? n : null;

    private static string? Str(JsonElement e, string name) =>
        Prop(e, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;
}
