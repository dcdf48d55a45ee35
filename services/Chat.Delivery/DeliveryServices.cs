using Chat.Contracts.V1;
using Chat.Delivery.Media;
using Chat.Delivery.Push;
using Chat.Core.Routing;
using Chat.Domain;
using Chat.ServiceDefaults;
using Dapr.Client;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Chat.Delivery;

/// <summary>Service registration of the delivery app.</summary>
public static class DeliveryServices
{
    public static IHostApplicationBuilder AddDeliveryServices(this IHostApplicationBuilder builder)
    {
        var config = builder.Configuration;
        builder.Services.AddChatDaprClient(config);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddFanOutWithRouteCache(config);
        builder.Services.AddSingleton<Recipients>();
        builder.Services.AddPush(config);
        builder.Services.AddThumbnails(config);
        builder.Services.AddDaprGrpcClient(config, DaprNames.Apps.Directory, i => new DirectoryInternalService.DirectoryInternalServiceClient(i));
        return builder;
    }

    public static WebApplication MapDeliveryServices(this WebApplication app)
    {
        app.MapDefaultEndpoints();
        app.UseCloudEvents();
        app.MapSubscribeHandler();
        app.MapEventHandlers();
        app.MapRouteChanges();
        return app;
    }
}
