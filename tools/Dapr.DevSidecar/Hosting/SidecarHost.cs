using System.Net;
using System.Net.Sockets;
using Dapr.DevSidecar.Api;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Hosting;

/// <summary>
/// One running sidecar: an HTTP/1.1 port for the HTTP API and an HTTP/2 (h2c) port for the
/// gRPC API and gRPC proxying, like daprd's <c>--dapr-http-port</c> and <c>--dapr-grpc-port</c>.
/// </summary>
public sealed class RunningSidecar : IAsyncDisposable
{
    private readonly WebApplication _app;

    internal RunningSidecar(WebApplication app, SidecarContext context)
    {
        _app = app;
        Context = context;
    }

    public SidecarContext Context { get; }

    public string AppId => Context.AppId;

    public int HttpPort => Context.HttpPort;

    public int GrpcPort => Context.GrpcPort;

    public string HttpEndpoint => $"http://127.0.0.1:{HttpPort}";

    public string GrpcEndpoint => $"http://127.0.0.1:{GrpcPort}";

    public IServiceProvider Services => _app.Services;

    /// <summary>Completes when the sidecar is ready, as <c>GET /v1.0/healthz</c> reports it (see <see cref="SidecarReadiness"/>).</summary>
    public Task Ready => SidecarReadiness.WhenReady(Services);

    /// <summary>Completes when the sidecar was asked to shut down (the Shutdown API).</summary>
    public Task ShutdownRequested => Task.Delay(Timeout.Infinite, Context.ShutdownRequested.Token).ContinueWith(_ => { }, TaskScheduler.Default);

    public async ValueTask DisposeAsync()
    {
        await Context.ShutdownRequested.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Starts sidecars.</summary>
public static class SidecarHost
{
    /// <summary>
    /// Loads the app's resources, builds its components (throwing <see cref="ComponentLoadException"/>
    /// on bad ones) and starts listening. The app itself is not needed yet: calls to it are made lazily.
    /// </summary>
    public static async Task<RunningSidecar> StartAsync(SidecarOptions options, ComponentRuntime runtime, CancellationToken cancellationToken = default)
    {
        var resources = ResourceLoader.Load(options.ResourcesPaths);
        var components = runtime.ForApp(options.AppId, resources);
        var context = new SidecarContext(options, components, runtime)
        {
            HttpPort = options.HttpPort == 0 ? FreePort() : options.HttpPort,
            GrpcPort = options.GrpcPort == 0 ? FreePort() : options.GrpcPort,
        };

        // No configuration files, so no file watching: a watcher over the working folder (which holds
        // the SQLite files of the embedded components) woke on every write, in every sidecar host.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(runtime.LoggerFactory);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        builder.Services.AddSingleton(context);
        builder.Services.AddSingleton(resources);
        builder.Services.AddSingleton(runtime);
        builder.Services.AddSingleton(runtime.Time);
        builder.Services.AddSingleton<StateApi>();
        builder.Services.AddSingleton(_ => new AppChannel(options));
        builder.Services.AddGrpc(o => o.EnableDetailedErrors = true);
        // Server reflection lists dapr.proto.runtime.v1.Dapr: the SDK asks it before a bulk publish.
        builder.Services.AddSingleton(new Grpc.Reflection.ReflectionServiceImpl(Dapr.Client.Autogen.Grpc.v1.DaprReflection.Descriptor.Services));
        SidecarServices.Add(builder.Services, context);

        var address = IPAddress.Parse(options.ListenAddress);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(address, context.HttpPort, l => l.Protocols = HttpProtocols.Http1);
            k.Listen(address, context.GrpcPort, l => l.Protocols = HttpProtocols.Http2);
            k.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
        });

        var app = builder.Build();
        // Paths are cleaned first and routing runs after the middleware (daprd routes on the cleaned path).
        app.UseMiddleware<PathCleaningMiddleware>();
        app.UseMiddleware<ApiTokenMiddleware>();
        app.UseMiddleware<GrpcFallbackMiddleware>();
        SidecarServices.UseBeforeRouting(app, context);
        app.UseRouting();
        app.MapGrpcService<DaprGrpcService>();
        app.MapGrpcService<Grpc.Reflection.ReflectionServiceImpl>();
        HttpApi.Map(app, context);
        UnimplementedApis.MapHttpFallback(app);

        await app.StartAsync(cancellationToken);
        await SidecarServices.StartAsync(app.Services, context, cancellationToken);
        return new RunningSidecar(app, context);
    }

    private static int _nextPort = 20000 + Random.Shared.Next(0, 10000);

    /// <summary>
    /// A currently free loopback port below Linux's ephemeral range (32768 and up), so an outgoing
    /// connection cannot take it between this check and the bind.
    /// </summary>
    public static int FreePort()
    {
        for (var attempt = 0; attempt < 2000; attempt++)
        {
            var port = 20000 + ((Interlocked.Increment(ref _nextPort) - 20000) % 12000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try the next one.
            }
        }

        using var any = new TcpListener(IPAddress.Loopback, 0);
        any.Start();
        return ((IPEndPoint)any.LocalEndpoint).Port;
    }
}
