using System.Globalization;
using Dapr.DevSidecar.Components;
using YamlDotNet.RepresentationModel;

namespace Dapr.DevSidecar.PubSub;

/// <summary>
/// How often and how fast a pub/sub delivery is retried: the retry policy a <c>kind: Resiliency</c>
/// resource names for the component (<c>targets.components.&lt;pubsub&gt;.inbound.retry</c>), or the
/// dev sidecar's default when there is none (exponential from 500 ms, ×1.5, at most 10 s apart, 5 retries).
/// </summary>
public sealed record DeliveryRetryPolicy(bool Exponential, TimeSpan Duration, TimeSpan MaxInterval, int MaxRetries)
{
    public static DeliveryRetryPolicy Default { get; } = new(true, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10), 5);

    /// <summary>True when retry <paramref name="retry"/> (1-based) is allowed; -1 retries means no limit.</summary>
    public bool Allows(int retry) => MaxRetries < 0 || retry <= MaxRetries;

    public TimeSpan DelayBefore(int retry)
    {
        if (!Exponential)
        {
            return Duration;
        }

        var ms = Duration.TotalMilliseconds * Math.Pow(1.5, retry - 1);
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxInterval.TotalMilliseconds));
    }

    /// <summary>The inbound retry policy for <paramref name="component"/> from the Resiliency resources in scope, or <see cref="Default"/>.</summary>
    public static DeliveryRetryPolicy For(LoadedResources resources, string appId, string component)
    {
        foreach (var (_, file, root) in resources.Others.Where(o => o.Kind == "Resiliency"))
        {
            if (root.Children.TryGetValue(new YamlScalarNode("scopes"), out var scopes) && scopes is YamlSequenceNode seq
                && seq.Children.Count > 0 && !seq.Children.OfType<YamlScalarNode>().Any(s => s.Value == appId))
            {
                continue;
            }

            var policyName = Path(root, "spec", "targets", "components", component, "inbound") is YamlMappingNode inbound
                ? ResourceLoader.Scalar(inbound, "retry") : null;
            if (policyName is null)
            {
                continue;
            }

            if (Path(root, "spec", "policies", "retries", policyName) is not YamlMappingNode policy)
            {
                throw new ComponentLoadException(file, $"spec.policies.retries.{policyName}", $"retry policy '{policyName}' named by component '{component}' is not defined");
            }

            var kind = ResourceLoader.Scalar(policy, "policy") ?? "constant";
            if (kind is not ("constant" or "exponential"))
            {
                throw new ComponentLoadException(file, $"spec.policies.retries.{policyName}.policy", $"'{kind}' is not constant or exponential");
            }

            TimeSpan Duration(string key, TimeSpan fallback)
            {
                var text = ResourceLoader.Scalar(policy, key);
                return text is null ? fallback
                    : MetadataDuration.TryParse(text, out var d) ? d
                    : throw new ComponentLoadException(file, $"spec.policies.retries.{policyName}.{key}", $"'{text}' is not a duration");
            }

            var maxRetries = ResourceLoader.Scalar(policy, "maxRetries") is { } mr
                ? int.Parse(mr, NumberStyles.Integer, CultureInfo.InvariantCulture) : -1;
            var exponential = kind == "exponential";
            return new DeliveryRetryPolicy(exponential,
                Duration("duration", exponential ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromSeconds(5)),
                Duration("maxInterval", TimeSpan.FromSeconds(60)), maxRetries);
        }

        return Default;
    }

    private static YamlNode? Path(YamlNode node, params string[] keys)
    {
        foreach (var key in keys)
        {
            if (node is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out var next))
            {
                return null;
            }

            node = next;
        }

        return node;
    }
}
