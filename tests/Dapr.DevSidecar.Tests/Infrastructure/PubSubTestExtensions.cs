using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.PubSub;
using Microsoft.Extensions.DependencyInjection;

namespace Dapr.DevSidecar.Tests.Infrastructure;

public static class PubSubTestExtensions
{
    /// <summary>Waits until the sidecar has discovered and subscribed its app's subscriptions.</summary>
    public static Task SubscribedAsync(this RunningSidecar sidecar) =>
        sidecar.Services.GetRequiredService<PubSubSubscriber>().Ready.WaitAsync(TimeSpan.FromSeconds(10));
}
