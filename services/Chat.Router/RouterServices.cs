using Chat.Contracts.V1;
using Chat.Core.Routing;
using Chat.Domain;
using Chat.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Chat.Router;

/// <summary>Service registration of the router app (Dapr actors over HTTP).</summary>
public static class RouterServices
{
    /// <summary>Registers the actors, the Dapr client, directory's internal client, the Snowflake generator and the fan-out to gateways.</summary>
    public static IHostApplicationBuilder AddRouterServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddChatDaprClient(builder.Configuration);
        // Message ids are minted only under a leased worker id, unique among live routers.
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.Configure<WorkerIdLeaseOptions>(builder.Configuration.GetSection(WorkerIdLeaseOptions.SectionName));
        builder.Services.AddSingleton<WorkerIdLease>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkerIdLease>());
        builder.Services.AddSingleton<LeasedSnowflakeIds>();
        builder.Services.AddSingleton<RouterFaults>();
        // ConversationActor delivers small conversations' messages to the gateways itself; one lease
        // and route cache for all of them. UserActor tells every route cache of each change.
        builder.Services.AddFanOutWithRouteCache(builder.Configuration);
        builder.Services.AddSingleton<RouteChangeNotifier>();
        var config = builder.Configuration;
        // ConversationActor asks directory who belongs to a conversation (first need per activation).
        builder.Services.AddDaprGrpcClient(config, DaprNames.Apps.Directory, i => new DirectoryInternalService.DirectoryInternalServiceClient(i));
        builder.Services.AddActors(options =>
        {
            // Explicit, so several apps can share one process in tests (env vars are process-wide).
            options.HttpEndpoint = DaprEndpoints.HttpEndpoint(config).ToString();
            if (config["DAPR_API_TOKEN"] is { Length: > 0 } token)
            {
                options.DaprApiToken = token;
            }

            options.Actors.RegisterActor<ConversationActor>(DaprNames.Actors.Conversation);
            options.Actors.RegisterActor<UserActor>(DaprNames.Actors.User);
            options.ActorIdleTimeout = TimeSpan.FromMinutes(10);
            options.ActorScanInterval = TimeSpan.FromSeconds(30);
            options.DrainOngoingCallTimeout = TimeSpan.FromSeconds(30);
            options.DrainRebalancedActors = true;
        });
        return builder;
    }

    /// <summary>Maps the actor endpoints Dapr calls (<c>/dapr/config</c>, <c>/actors/…</c>), the route cache's subscription and health.</summary>
    public static WebApplication MapRouterServices(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        app.UseCloudEvents();
        app.MapSubscribeHandler();
        app.MapRouteChanges();
        app.MapActorsHandlers();
        return app;
    }
}
