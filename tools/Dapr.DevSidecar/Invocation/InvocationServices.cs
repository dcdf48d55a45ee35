using Dapr.DevSidecar.Invocation;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dapr.DevSidecar.Hosting;

internal static partial class SidecarServices
{
    static partial void AddInvocation(IServiceCollection services, SidecarContext context)
    {
        services.AddHttpForwarder();
        services.AddSingleton<ServiceInvoker>();
        services.AddHostedService<AppRegistration>();
    }

    static partial void UseInvocation(WebApplication app, SidecarContext context) =>
        app.UseMiddleware<GrpcProxyMiddleware>();
}

/// <summary>
/// Makes the sidecar's app findable by other sidecars once it listens, and removes it as soon
/// as the sidecar starts stopping (so callers stop picking it).
/// </summary>
internal sealed class AppRegistration(SidecarContext sidecar) : IHostedLifecycleService
{
    private IDisposable? _registration;

    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var o = sidecar.Options;
        _registration = sidecar.Runtime.Apps.Register(new AppInstance(
            o.AppId, o.InstanceId, o.ListenAddress, sidecar.HttpPort, sidecar.GrpcPort,
            o.AppChannelAddress, o.AppPort, o.AppProtocol, o.AppApiToken, Environment.ProcessId));
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        _registration?.Dispose();
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        _registration?.Dispose();
        return Task.CompletedTask;
    }
}
