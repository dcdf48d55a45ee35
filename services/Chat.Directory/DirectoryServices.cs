using Chat.Directory.Services;
using Chat.Directory.State;
using Chat.Domain;
using Chat.ServiceDefaults;
using Chat.ServiceDefaults.Auth;
using Chat.ServiceDefaults.RateLimiting;

namespace Chat.Directory;

/// <summary>Service registration of the directory app.</summary>
public static class DirectoryServices
{
    /// <summary>
    /// Registers the directory's gRPC services with <see cref="ChatAuthInterceptor"/>, auth
    /// (signing key from the Dapr secret store), the Dapr client and the state layer. Where it
    /// listens, and with h2c, comes from configuration as for the other gRPC apps (dapr.yaml, the
    /// Deployment).
    /// </summary>
    public static WebApplicationBuilder AddDirectoryServices(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.AddChatGrpcServer();
        services.AddChatAuthentication(configuration);
        services.Configure<ChatAuthOptions>(o =>
        {
            // Webhook secrets and bot tokens: for the bots app alone.
            foreach (var method in (string[])["/chat.v1.BotInternalService/GetBotWebhooks", "/chat.v1.BotInternalService/IssueBotToken"])
            {
                o.CallerRestrictedMethods[method] = new HashSet<string>(StringComparer.Ordinal) { DaprNames.Apps.Bots };
            }
        });
        services.Configure<BotOptions>(configuration.GetSection(BotOptions.SectionName));
        services.Configure<ChatLimits>(configuration.GetSection(ChatLimits.SectionName));
        services.Configure<DirectoryOptions>(configuration.GetSection(DirectoryOptions.SectionName));
        services.Configure<WebPushEndpointOptions>(configuration.GetSection(WebPushEndpointOptions.SectionName));
        // Lookups are counted per caller in directory-store, so every directory instance draws from one allowance.
        services.AddChatRateLimits(configuration, DirectoryOptions.SectionName + ":RateLimits", DaprNames.StateStores.Directory,
            new Dictionary<string, RateLimitPolicy> { [DirectoryGrpcService.LookupLimit] = new() { Burst = 60, PerSecond = 1, Shared = true } });
        services.AddSingleton<IDirectoryState, DaprDirectoryState>();
        services.AddSingleton<DirectoryCore>();
        services.AddSingleton<Accounts>();
        services.AddSingleton<GroupEvents>();
        // Membership changes are pushed to the conversation actors in router.
        services.AddChatActorProxies(configuration);
        services.AddSingleton<GroupMembersPush>();
        services.AddSingleton<Groups>();
        services.AddSingleton<Bots>();
        return builder;
    }

    /// <summary>Maps <c>chat.v1.DirectoryService</c>, <c>chat.v1.DirectoryInternalService</c>, <c>chat.v1.BotService</c> and <c>chat.v1.BotInternalService</c>.</summary>
    public static WebApplication MapDirectoryServices(this WebApplication app)
    {
        app.MapGrpcService<DirectoryGrpcService>();
        app.MapGrpcService<DirectoryInternalGrpcService>();
        app.MapGrpcService<BotGrpcService>();
        app.MapGrpcService<BotInternalGrpcService>();
        return app;
    }
}
