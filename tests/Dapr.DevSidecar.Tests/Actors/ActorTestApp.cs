using System.Net;
using Dapr.Actors;
using Dapr.Actors.Client;
using Dapr.Actors.Runtime;
using Dapr.DevSidecar.Actors;
using Dapr.DevSidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Tests.Actors;

/// <summary>
/// A small actor app (Dapr.Actors.AspNetCore, <see cref="CounterActor"/>) on a free loopback
/// port, with its dev sidecar: the sidecar calls the app on that port, the app's actor runtime
/// calls the sidecar's HTTP endpoint (<see cref="ActorRuntimeOptions.HttpEndpoint"/>).
/// </summary>
public sealed class ActorTestApp : IAsyncDisposable
{
    private readonly SidecarTestHost _host;
    private readonly WebApplication _app;
    private bool _stopped;

    private ActorTestApp(SidecarTestHost host, WebApplication app, RunningSidecar sidecar, ActorProbe probe, string actorType)
    {
        ActorType = actorType;
        _host = host;
        _app = app;
        Sidecar = sidecar;
        Probe = probe;
    }

    public RunningSidecar Sidecar { get; }

    /// <summary>The name <see cref="CounterActor"/> is registered under.</summary>
    public string ActorType { get; }

    public ActorProbe Probe { get; }

    public ActorPlacement Placement => ActorPlacement.For(Sidecar.Context.Runtime);

    public Dapr.DevSidecar.Actors.ActorHost ActorHost => Sidecar.Services.GetRequiredService<Dapr.DevSidecar.Actors.ActorHost>();

    /// <summary>Short timings: idle actors go after <paramref name="idleTimeout"/> (default 1 s), scanned every 200 ms.</summary>
    public static async Task<ActorTestApp> StartAsync(SidecarTestHost host, string appId = "counter", string? name = null,
        TimeSpan? idleTimeout = null, bool reentrancy = false, ActorProbe? probe = null, string actorType = nameof(CounterActor))
    {
        var port = SidecarHost.FreePort();
        var sidecar = await host.StartSidecarAsync(appId, appPort: port);
        probe ??= new ActorProbe(name ?? sidecar.Context.Options.InstanceId);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Services.AddSingleton(probe);
        builder.Services.AddActors(o =>
        {
            o.HttpEndpoint = sidecar.HttpEndpoint;
            o.Actors.RegisterActor<CounterActor>(actorType);
            o.ActorIdleTimeout = idleTimeout ?? TimeSpan.FromSeconds(1);
            o.ActorScanInterval = TimeSpan.FromMilliseconds(200);
            o.DrainOngoingCallTimeout = TimeSpan.FromSeconds(2);
            o.ReentrancyConfig = new ActorReentrancyConfig { Enabled = reentrancy, MaxStackDepth = 8 };
        });
        var app = builder.Build();
        app.MapActorsHandlers();
        await app.StartAsync();

        var result = new ActorTestApp(host, app, sidecar, probe, actorType);
        await result.ActorHost.Discovered.WaitAsync(TimeSpan.FromSeconds(10));
        return result;
    }

    /// <summary>A proxy factory whose calls go to this app's sidecar.</summary>
    public ActorProxyFactory Proxies(TimeSpan? timeout = null) =>
        new(new ActorProxyOptions { HttpEndpoint = Sidecar.HttpEndpoint, RequestTimeout = timeout ?? TimeSpan.FromSeconds(20) });

    public ICounterActor Counter(string id) => Proxies().CreateActorProxy<ICounterActor>(new ActorId(id), ActorType);

    /// <summary>Stops the sidecar (its actors leave the placement and are deactivated), then the app.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _host.StopSidecarAsync(Sidecar);
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
