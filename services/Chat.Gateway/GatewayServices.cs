using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Gateway.Media;
using Chat.Gateway.Presence;
using Chat.Gateway.WebClient;
using Chat.ServiceDefaults;
using Chat.ServiceDefaults.Auth;
using Chat.ServiceDefaults.Boundary;
using Chat.ServiceDefaults.RateLimiting;
using Dapr.Actors.Client;
using Dapr.Client;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Gateway;

/// <summary>Service registration of the gateway app.</summary>
public static class GatewayServices
{
    public const string HubPath = "/hubs/chat";

    /// <summary>Most bytes of one hub message (a 64 KiB message plus JSON overhead).</summary>
    public const long MaxHubMessageBytes = 160 * 1024;

    public static IHostApplicationBuilder AddGatewayServices(this IHostApplicationBuilder builder)
    {
        var config = builder.Configuration;
        builder.Services.AddChatAuthentication(config);
        builder.Services.AddSingleton<GatewayInstance>();
        builder.Services.AddSingleton<LocalConnections>();
        // Shared limits count in the presence store: short-lived entries with TTL, like leases.
        builder.Services.AddChatRateLimits(config, HubRatePolicies.Section, DaprNames.StateStores.Presence, HubRatePolicies.Defaults);
        builder.Services.AddSingleton<HubRateLimitFilter>();
        builder.Services.AddSingleton<GatewayLeaseService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<GatewayLeaseService>());
        builder.Services.AddSingleton<DeliveryReadiness>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeliveryReadiness>());
        builder.Services.AddHealthChecks().AddCheck<DeliveryReadinessCheck>("deliveries-subscribed", tags: [ServiceDefaultsExtensions.ReadyTag]);
        builder.AddGatewayPresence();
        builder.AddPushSink();
        builder.DropUnreadLogScopes();
        builder.QuietAnsweredHubErrors();

        builder.Services.AddSignalR(o =>
        {
            o.MaximumReceiveMessageSize = MaxHubMessageBytes;
            o.EnableDetailedErrors = false;
            o.KeepAliveInterval = TimeSpan.FromSeconds(10);
            o.ClientTimeoutInterval = TimeSpan.FromSeconds(30);
            o.AddFilter<HubErrorFilter>();
            o.AddFilter<HubRateLimitFilter>();
        }).AddMessagePackProtocol();
        // Stateful reconnect: after its socket drops, a connection (with the messages it was sent
        // but has not acknowledged) waits this long for the client to resume it; past that it is
        // gone and the client reconnects anew and catches up by Sync.
        builder.Services.Configure<Microsoft.AspNetCore.Http.Connections.ConnectionOptions>(o =>
            o.DisconnectTimeout = TimeSpan.FromSeconds(Math.Max(1, config.GetValue("Gateway:ReconnectWindowSeconds", 15.0))));
        builder.Services.AddCodedHubErrors();

        builder.Services.AddChatActorProxies(config);
        // Sends go straight to the conversation's actor; acks carry signed attachment URLs (download lifetime of Messaging:Media).
        builder.Services.Configure<MediaOptions>(config.GetSection(MediaOptions.SectionName));
        builder.Services.AddSingleton<MediaSigner>();
        builder.Services.AddSingleton<MessageSender>();
        builder.Services.AddSingleton<ILocalDelivery, DeliveryEndpoint.Local>();
        // Backend gRPC services are reached through this app's sidecar (gRPC proxying).
        builder.Services.AddDaprGrpcClient(config, DaprNames.Apps.Messaging, i => new MessagingService.MessagingServiceClient(i));
        builder.Services.AddDaprGrpcClient(config, DaprNames.Apps.Directory, i => new DirectoryService.DirectoryServiceClient(i));
        builder.Services.AddDaprGrpcClient(config, DaprNames.Apps.Directory, i => new BotService.BotServiceClient(i));
        return builder;
    }

    /// <summary>SignalR's hub dispatcher, whose only Error-level events are failed hub calls.</summary>
    public const string HubDispatcherLogCategory = "Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher";

    /// <summary>
    /// SignalR logs every failed hub call at Error with its stack trace, the coded answers included
    /// (rate_limited, invalid_argument, not_found): a client past its send limit could fill the log
    /// and spend the gateway's CPU on stack traces, the opposite of what a limit is for. Every
    /// failure that is not such an answer is logged by <see cref="HubErrorFilter"/> before it is
    /// turned into one, so the dispatcher's Error lines add nothing. Its Debug events (binding
    /// failures, unknown methods) stay available: a level set for the category in configuration
    /// replaces this one.
    /// </summary>
    private static void QuietAnsweredHubErrors(this IHostApplicationBuilder builder)
    {
        if (builder.Configuration[$"Logging:LogLevel:{HubDispatcherLogCategory}"] is null)
        {
            builder.Logging.AddFilter(HubDispatcherLogCategory, LogLevel.Critical);
        }
    }

    /// <summary>
    /// Log scopes are read only by the OTLP log exporter and a console logger set to include them.
    /// Without either, each scope (request, connection, hub) is still captured, and kept for the
    /// life of every WebSocket: about 5 objects per idle connection, for no reader.
    /// </summary>
    private static void DropUnreadLogScopes(this IHostApplicationBuilder builder)
    {
        var config = builder.Configuration;
        if (string.IsNullOrWhiteSpace(config["OTEL_EXPORTER_OTLP_ENDPOINT"])
            && !config.GetValue("Logging:Console:IncludeScopes", false)
            && !config.GetValue("Logging:Console:FormatterOptions:IncludeScopes", false))
        {
            builder.Services.Configure<LoggerFilterOptions>(o => o.CaptureScopes = false);
        }
    }

    // The key UseAuthorization sets on the application builder, which the web host reads to add its own.
    private const string AuthorizationMiddlewareSetKey = "__AuthorizationMiddlewareSet";

    public static WebApplication MapGatewayServices(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        app.MapWebClient();
        // A WebSocket's request lives as long as its connection, and so does the frame of every
        // async middleware it passes. Hub requests need neither of these: no endpoint here has
        // authorization metadata (the endpoint middleware would refuse one that skipped this), and
        // only the sidecar's deliveries are CloudEvents. Claiming UseAuthorization keeps the web
        // host from adding its own in front of every request (docs/benchmarks.md, twentieth pass).
        app.UseWhen(static c => !HubAuthenticationMiddleware.IsHubRequest(c), other => other.UseAuthorization().UseCloudEvents());
        ((IApplicationBuilder)app).Properties[AuthorizationMiddlewareSetKey] = true;
        app.UseMiddleware<HubAuthenticationMiddleware>();
        app.MapSubscribeHandler();
        app.MapDeliveries();
        app.MapPushSink();
        app.MapMediaEndpoints();
        app.MapHub<ChatHub>(HubPath, o => o.AllowStatefulReconnects = true).ForClients();
        return app;
    }
}
