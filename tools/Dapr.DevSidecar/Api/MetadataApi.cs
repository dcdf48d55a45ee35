using Dapr.Client.Autogen.Grpc.v1;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Dapr.DevSidecar.Api;

/// <summary>One subscription as the metadata API reports it; <c>Type</c> is DECLARATIVE, PROGRAMMATIC or STREAMING.</summary>
public sealed record SubscriptionInfo(
    string PubsubName, string Topic, IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<(string Match, string Path)> Rules, string DeadLetterTopic, string Type = "PROGRAMMATIC");

/// <summary>
/// Implemented by the pub/sub building block (registered in the sidecar's services) to list the
/// app's subscriptions in <c>GetMetadata</c> / <c>GET /v1.0/metadata</c>. Optional.
/// </summary>
public interface ISubscriptionsInfo
{
    IReadOnlyList<SubscriptionInfo> Subscriptions { get; }
}

/// <summary>Implemented by the actors building block to report its state in the metadata API. Optional.</summary>
public interface IActorRuntimeInfo
{
    /// <summary>INITIALIZING, DISABLED or RUNNING.</summary>
    string Status { get; }

    bool HostReady { get; }

    IReadOnlyList<(string Type, int Count)> ActiveActors { get; }
}

/// <summary>The metadata building block: what this sidecar runs, built once for gRPC and HTTP.</summary>
public static class MetadataApi
{
    /// <summary>daprd reports its build version; a source build says "edge", and so do we.</summary>
    public const string RuntimeVersion = "edge";

    public static GetMetadataResponse Build(SidecarContext sidecar, IServiceProvider services)
    {
        var response = new GetMetadataResponse
        {
            Id = sidecar.AppId,
            RuntimeVersion = RuntimeVersion,
            AppConnectionProperties = new AppConnectionProperties
            {
                Port = sidecar.Options.AppPort ?? 0,
                Protocol = sidecar.Options.AppProtocol,
                ChannelAddress = sidecar.Options.AppChannelAddress,
            },
        };
        if (sidecar.Options.AppPort is not null)
        {
            response.AppConnectionProperties.Health = new AppConnectionHealthProperties
            {
                HealthCheckPath = sidecar.Options.AppProtocol.StartsWith("http", StringComparison.OrdinalIgnoreCase) ? sidecar.Options.AppHealthCheckPath : "",
            };
        }

        response.ExtendedMetadata["daprRuntimeVersion"] = RuntimeVersion;
        foreach (var component in sidecar.Components.All)
        {
            var registered = new RegisteredComponents
            {
                Name = component.Definition.Name,
                Type = component.Definition.Type,
                Version = component.Definition.Version,
            };
            registered.Capabilities.Add(ComponentTypes.Capabilities(component));
            response.RegisteredComponents.Add(registered);
        }

        foreach (var source in services.GetServices<ISubscriptionsInfo>())
        {
            foreach (var s in source.Subscriptions)
            {
                var sub = new PubsubSubscription
                {
                    PubsubName = s.PubsubName,
                    Topic = s.Topic,
                    DeadLetterTopic = s.DeadLetterTopic,
                    Type = Enum.TryParse<PubsubSubscriptionType>(s.Type, ignoreCase: true, out var t) ? t : PubsubSubscriptionType.Unknown,
                    Rules = new PubsubSubscriptionRules(),
                };
                sub.Metadata.Add(s.Metadata.ToDictionary());
                sub.Rules.Rules.Add(s.Rules.Select(r => new PubsubSubscriptionRule { Match = r.Match, Path = r.Path }));
                response.Subscriptions.Add(sub);
            }
        }

        var actors = services.GetService<IActorRuntimeInfo>();
        response.ActorRuntime = new ActorRuntime
        {
            RuntimeStatus = actors is null ? ActorRuntime.Types.ActorRuntimeStatus.Disabled
                : Enum.TryParse<ActorRuntime.Types.ActorRuntimeStatus>(actors.Status, ignoreCase: true, out var st) ? st : ActorRuntime.Types.ActorRuntimeStatus.Initializing,
            HostReady = actors?.HostReady ?? false,
        };
        foreach (var (type, count) in actors?.ActiveActors ?? [])
        {
            var active = new ActiveActorsCount { Type = type, Count = count };
            response.ActorRuntime.ActiveActors.Add(active);
#pragma warning disable CS0612 // daprd still fills the deprecated alias, and the SDK reads it.
            response.ActiveActorsCount.Add(active);
#pragma warning restore CS0612
        }

        return response;
    }

    /// <summary>The JSON body of daprd's <c>GET /v1.0/metadata</c> (field names as daprd writes them).</summary>
    public static Dictionary<string, object> ToHttpJson(GetMetadataResponse m)
    {
        var json = new Dictionary<string, object>
        {
            ["id"] = m.Id,
            ["runtimeVersion"] = m.RuntimeVersion,
        };
        if (m.EnabledFeatures.Count > 0)
        {
            json["enabledFeatures"] = m.EnabledFeatures.ToList();
        }

        if (m.ActorRuntime.ActiveActors.Count > 0)
        {
            json["actors"] = m.ActorRuntime.ActiveActors.Select(a => new { type = a.Type, count = a.Count }).ToList();
        }

        if (m.RegisteredComponents.Count > 0)
        {
            json["components"] = m.RegisteredComponents.Select(c => c.Capabilities.Count > 0
                ? (object)new { name = c.Name, type = c.Type, version = c.Version, capabilities = c.Capabilities.ToList() }
                : new { name = c.Name, type = c.Type, version = c.Version }).ToList();
        }

        if (m.ExtendedMetadata.Count > 0)
        {
            json["extended"] = m.ExtendedMetadata.ToDictionary();
        }

        if (m.Subscriptions.Count > 0)
        {
            json["subscriptions"] = m.Subscriptions.Select(s => new Dictionary<string, object>
            {
                ["pubsubname"] = s.PubsubName,
                ["topic"] = s.Topic,
                ["metadata"] = s.Metadata.ToDictionary(),
                ["rules"] = s.Rules.Rules.Select(r => new { match = r.Match, path = r.Path }).ToList(),
                ["deadLetterTopic"] = s.DeadLetterTopic,
                ["type"] = s.Type.ToString().ToUpperInvariant(),
            }).ToList();
        }

        var app = m.AppConnectionProperties;
        var appJson = new Dictionary<string, object>();
        if (app.Port != 0)
        {
            appJson["port"] = app.Port;
        }

        appJson["protocol"] = app.Protocol;
        appJson["channelAddress"] = app.ChannelAddress;
        if (app.Health is { } health)
        {
            appJson["health"] = string.IsNullOrEmpty(health.HealthCheckPath) ? new Dictionary<string, object>() : new Dictionary<string, object> { ["healthCheckPath"] = health.HealthCheckPath };
        }

        json["appConnectionProperties"] = appJson;
        json["actorRuntime"] = new Dictionary<string, object>
        {
            ["runtimeStatus"] = m.ActorRuntime.RuntimeStatus.ToString().ToUpperInvariant(),
            ["hostReady"] = m.ActorRuntime.HostReady,
        };
        return json;
    }
}
