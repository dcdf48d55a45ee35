using System.Collections.Concurrent;
using Dapr.DevSidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Tests.Infrastructure;

/// <summary>A request as the app received it, before Dapr.AspNetCore's CloudEvents middleware unwrapped it.</summary>
public sealed record RawRequest(string Path, string? ContentType, string Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// A small Dapr.AspNetCore app on a loopback port (UseCloudEvents, MapSubscribeHandler, and the
/// routes the test maps), started in-process. Records every raw request it receives.
/// </summary>
public sealed class SubscriberApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SubscriberApp(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public ConcurrentQueue<RawRequest> Requests { get; } = new();

    public static async Task<SubscriberApp> StartAsync(Action<WebApplication> map, int? port = null, Action<IServiceCollection>? services = null)
    {
        var p = port ?? SidecarHost.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{p}");
        // A stopped app must drop in-flight requests at once (the "killed mid-message" tests).
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(50));
        services?.Invoke(builder.Services);
        var app = builder.Build();
        var testApp = new SubscriberApp(app, p);
        app.Use(async (ctx, next) =>
        {
            ctx.Request.EnableBuffering();
            using var reader = new StreamReader(ctx.Request.Body, leaveOpen: true);
            var body = await reader.ReadToEndAsync();
            ctx.Request.Body.Position = 0;
            testApp.Requests.Enqueue(new RawRequest(ctx.Request.Path, ctx.Request.ContentType, body,
                ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
            await next(ctx);
        });
        app.UseCloudEvents();
        app.MapSubscribeHandler();
        map(app);
        await app.StartAsync();
        return testApp;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
