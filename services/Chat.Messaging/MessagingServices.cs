using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.ServiceDefaults;
using Chat.ServiceDefaults.Auth;
using Dapr.Actors.Client;
using Dapr.Client;

namespace Chat.Messaging;

/// <summary>Service registration of the messaging app.</summary>
public static class MessagingServices
{
    public static IHostApplicationBuilder AddMessagingServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddChatDaprClient(builder.Configuration);
        builder.Services.AddChatAuthentication(builder.Configuration);
        builder.Services.AddChatGrpcServer(maxReceiveMessageSize: 256 * 1024);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<MessageStore>();
        builder.Services.AddSingleton<Membership>();
        builder.Services.Configure<ReceiptPrivacyOptions>(builder.Configuration.GetSection("Messaging:ReceiptPrivacy"));
        builder.Services.AddSingleton<ReceiptPrivacy>();
        builder.Services.Configure<LifecycleOptions>(builder.Configuration.GetSection(LifecycleOptions.SectionName));
        builder.Services.AddSingleton<MessageLifecycle>();
        builder.Services.Configure<MediaOptions>(builder.Configuration.GetSection(MediaOptions.SectionName));
        builder.Services.AddSingleton<MediaSigner>();
        builder.Services.AddSingleton<MediaService>();
        builder.Services.AddSingleton<MessageSender>();
        builder.Services.AddChatActorProxies(builder.Configuration);
        builder.Services.AddDaprGrpcClient(builder.Configuration, DaprNames.Apps.Directory, i => new DirectoryInternalService.DirectoryInternalServiceClient(i));
        return builder;
    }

    public static WebApplication MapMessagingServices(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        app.MapGrpcService<MessagingGrpcService>();
        return app;
    }
}
