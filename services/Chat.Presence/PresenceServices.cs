using Chat.Contracts.V1;
using Chat.Domain;
using Chat.ServiceDefaults;
using Chat.ServiceDefaults.Auth;
using Dapr.Client;

namespace Chat.Presence;

/// <summary>Settings of the presence app, bound from <c>Presence</c>.</summary>
public sealed class PresenceOptions
{
    public const string SectionName = "Presence";

    /// <summary>How often the expiry sweep looks for gateways that stopped reporting (seconds).</summary>
    public double SweepSeconds { get; set; } = 5;
}

/// <summary>Service registration of the presence app.</summary>
public static class PresenceServices
{
    /// <summary>The methods only gateways may call (no user token; checked by caller app-id).</summary>
    public static readonly string[] GatewayOnlyMethods =
    [
        "/chat.v1.PresenceService/ReportConnectedUsers",
        "/chat.v1.PresenceService/ReportDisconnected",
    ];

    public static IHostApplicationBuilder AddPresenceServices(this IHostApplicationBuilder builder)
    {
        var config = builder.Configuration;
        builder.Services.AddChatDaprClient(config);
        builder.Services.AddChatAuthentication(config);
        builder.Services.Configure<ChatAuthOptions>(o =>
        {
            foreach (var method in GatewayOnlyMethods)
            {
                o.CallerRestrictedMethods[method] = new HashSet<string>(StringComparer.Ordinal) { DaprNames.Apps.Gateway };
            }
        });
        // A report of 20k users is ~0.5 MB.
        builder.Services.AddChatGrpcServer(maxReceiveMessageSize: 16 * 1024 * 1024);
        builder.Services.Configure<PresenceOptions>(config.GetSection(PresenceOptions.SectionName));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<PresenceTracker>();
        builder.Services.AddHostedService<PresenceSweeper>();
        // directory (presence rules) is reached through this app's sidecar.
        builder.Services.AddDaprGrpcClient(config, DaprNames.Apps.Directory, i => new DirectoryInternalService.DirectoryInternalServiceClient(i));
        return builder;
    }

    public static WebApplication MapPresenceServices(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        app.MapGrpcService<PresenceGrpcService>();
        return app;
    }
}
