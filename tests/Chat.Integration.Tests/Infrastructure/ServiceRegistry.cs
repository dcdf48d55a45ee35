using Chat.Delivery;
using Chat.Directory;
using Chat.Domain;
using Chat.Gateway;
using Chat.Messaging;
using Chat.Presence;
using Chat.Router;
using Chat.ServiceDefaults;
using Microsoft.AspNetCore.Builder;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>Each app's own registration, exactly as its Program.cs calls it.</summary>
internal static class ServiceRegistry
{
    public static void Add(string appId, WebApplicationBuilder builder)
    {
        builder.AddServiceDefaults();
        switch (appId)
        {
            case DaprNames.Apps.Messaging: builder.AddMessagingServices(); break;
            case DaprNames.Apps.Router: builder.AddRouterServices(); break;
            case DaprNames.Apps.Directory: builder.AddDirectoryServices(); break;
            case DaprNames.Apps.Gateway: builder.AddGatewayServices(); break;
            case DaprNames.Apps.Delivery: builder.AddDeliveryServices(); break;
            case DaprNames.Apps.Presence: builder.AddPresenceServices(); break;
            default: AddOther(appId, builder); break;
        }
    }

    public static void Map(string appId, WebApplication app)
    {
        switch (appId)
        {
            case DaprNames.Apps.Messaging: app.MapMessagingServices(); break;
            case DaprNames.Apps.Router: app.MapRouterServices(); break;
            case DaprNames.Apps.Directory: app.MapDirectoryServices(); break;
            case DaprNames.Apps.Gateway: app.MapGatewayServices(); break;
            case DaprNames.Apps.Delivery: app.MapDeliveryServices(); break;
            case DaprNames.Apps.Presence: app.MapPresenceServices(); break;
            default: MapOther(appId, app); break;
        }
    }

    private static void AddOther(string appId, WebApplicationBuilder builder) =>
        throw new ArgumentException($"No registration for app '{appId}' in the integration tests.", nameof(appId));

    private static void MapOther(string appId, WebApplication app) =>
        throw new ArgumentException($"No registration for app '{appId}' in the integration tests.", nameof(appId));
}

