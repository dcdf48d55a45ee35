using Chat.Directory.Services;
using Chat.Directory.State;
using Chat.Domain;
using Chat.ServiceDefaults;
using Chat.ServiceDefaults.Auth;
using Chat.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Chat.Directory;

/// <summary>Setup of the directory app, shared by Program.cs and the in-process tests.</summary>
public static class DirectoryHostingExtensions
{
    /// <summary>
    /// Registers the directory's gRPC services with <see cref="ChatAuthInterceptor"/>, auth
    /// (signing key from the Dapr secret store), the Dapr client and the state layer. Kestrel
    /// serves h2c (HTTP/2 without TLS, what a sidecar with app protocol grpc speaks) on APP_PORT
    /// when it is set.
    /// </summary>
    public static WebApplicationBuilder AddDirectoryServices(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        if (int.TryParse(configuration["APP_PORT"], out var appPort))
        {
            builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(appPort, l => l.Protocols = HttpProtocols.Http2));
        }
        else
        {
            builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http2));
        }

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
