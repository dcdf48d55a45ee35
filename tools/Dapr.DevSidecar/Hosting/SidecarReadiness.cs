using Dapr.DevSidecar.Actors;
using Dapr.DevSidecar.PubSub;
using Microsoft.Extensions.DependencyInjection;

namespace Dapr.DevSidecar.Hosting;

/// <summary>
/// When a sidecar is ready in daprd's sense (<c>GET /v1.0/healthz</c> answers 204): its
/// components are loaded and the app channel is up, that is, the app's pub/sub subscriptions
/// are subscribed and its actor types are known. Until then a message published to a topic the
/// app subscribes to may find no subscriber (and an in-memory broker drops it).
/// </summary>
public static class SidecarReadiness
{
    /// <summary>Completes when the sidecar is ready; faults if the app's subscriptions could not be loaded.</summary>
    public static Task WhenReady(IServiceProvider services) => Task.WhenAll(
        services.GetService<PubSubSubscriber>()?.Ready ?? Task.CompletedTask,
        services.GetService<ActorHost>()?.Discovered ?? Task.CompletedTask);

    public static bool IsReady(IServiceProvider services) => WhenReady(services).IsCompletedSuccessfully;
}
