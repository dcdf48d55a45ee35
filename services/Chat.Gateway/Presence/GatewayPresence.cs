using Chat.Contracts.V1;
using Chat.Domain;
using Chat.ServiceDefaults;
using Dapr.Client;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Chat.Gateway.Presence;

/// <summary>Registration of the gateway's presence and typing pieces.</summary>
public static class GatewayPresence
{
    public static IHostApplicationBuilder AddGatewayPresence(this IHostApplicationBuilder builder)
    {
        var config = builder.Configuration;
        builder.Services.Configure<GatewayPresenceOptions>(config.GetSection("Gateway"));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddDaprGrpcClient(config, DaprNames.Apps.Presence, i => new PresenceService.PresenceServiceClient(i));
        builder.Services.AddSingleton<PresenceReporter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PresenceReporter>());
        builder.Services.AddSingleton<PresenceWatches>();
        builder.Services.AddHostedService<PresenceWatchRefresher>();
        builder.Services.AddSingleton<TypingThrottle>();
        return builder;
    }
}
