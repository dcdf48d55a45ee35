using Dapr.DevSidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Tests.Infrastructure;

/// <summary>A small web or gRPC app on a free loopback port, started in this process for a test.</summary>
public sealed class TestApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestApp(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Starts an app; <paramref name="grpc"/> listens h2c (as an app with app protocol grpc).</summary>
    public static async Task<TestApp> StartAsync(Action<WebApplication> map, bool grpc = false, Action<IServiceCollection>? services = null)
    {
        var port = SidecarHost.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, l => l.Protocols = grpc ? HttpProtocols.Http2 : HttpProtocols.Http1));
        if (grpc)
        {
            builder.Services.AddGrpc();
        }

        services?.Invoke(builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return new TestApp(app, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
