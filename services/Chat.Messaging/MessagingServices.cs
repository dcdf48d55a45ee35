using Chat.Contracts.V1;
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
        builder.Services.AddGrpc(o =>
        {
            o.Interceptors.Add<GrpcErrorInterceptor>();
            // Errors of handlers are mapped by GrpcErrorInterceptor; what remains detailed is the
            // framework's own, e.g. a request that is not a valid protobuf message.
            o.EnableDetailedErrors = true;
            o.Interceptors.Add<ChatAuthInterceptor>();
            o.MaxReceiveMessageSize = 256 * 1024;
        });
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<MessageStore>();
        builder.Services.AddSingleton<Membership>();
        builder.Services.Configure<ReceiptPrivacyOptions>(builder.Configuration.GetSection("Messaging:ReceiptPrivacy"));
        builder.Services.AddSingleton<ReceiptPrivacy>();
        builder.Services.Configure<LifecycleOptions>(builder.Configuration.GetSection(LifecycleOptions.SectionName));
        builder.Services.AddSingleton<MessageLifecycle>();
        builder.Services.Configure<MediaOptions>(builder.Configuration.GetSection(MediaOptions.SectionName));
        builder.Services.AddSingleton<MediaService>();
        builder.Services.AddSingleton<IActorProxyFactory>(sp => new ActorProxyFactory(new ActorProxyOptions
        {
            HttpEndpoint = DaprEndpoints.HttpEndpoint(builder.Configuration).ToString(),
            DaprApiToken = builder.Configuration["DAPR_API_TOKEN"],
            RequestTimeout = TimeSpan.FromSeconds(30),
        }));
        // directory is reached through this app's sidecar (gRPC proxying, dapr-app-id metadata).
        builder.Services.AddSingleton(sp => new DirectoryInternalService.DirectoryInternalServiceClient(
            DaprClient.CreateInvocationInvoker(DaprNames.Apps.Directory, DaprEndpoints.GrpcEndpoint(builder.Configuration).ToString(), builder.Configuration["DAPR_API_TOKEN"])));
        return builder;
    }

    public static WebApplication MapMessagingServices(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        app.MapGrpcService<MessagingGrpcService>();
        return app;
    }
}
