using Dapr.DevSidecar.Actors;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Hosting;

internal static partial class SidecarServices
{
    static partial void AddActors(IServiceCollection services, SidecarContext context)
    {
        // A store marked actorStateStore must be able to hold actors: refuse start-up otherwise.
        ActorStateStore.Validate(context.Components);
        services.AddSingleton(sp => new ActorHost(context, sp.GetRequiredService<AppChannel>(), ActorPlacement.For(context.Runtime),
            context.Runtime.LoggerFactory.CreateLogger("Dapr.DevSidecar.Actors")));
        services.AddSingleton<ActorApi>();
        services.AddHostedService<ActorHostLifetime>();
    }

    static partial void StartActors(IServiceProvider services, SidecarContext context, List<Func<Task>> starts)
    {
        starts.Add(() =>
        {
            var host = services.GetRequiredService<ActorHost>();
            host.Start();
            context.ShutdownRequested.Token.Register(() => _ = host.StopAsync());
            return Task.CompletedTask;
        });
    }

    /// <summary>Takes the sidecar's actors out of the placement (and deactivates them) when the sidecar stops.</summary>
    private sealed class ActorHostLifetime(ActorHost host) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => host.StopAsync();
    }
}
