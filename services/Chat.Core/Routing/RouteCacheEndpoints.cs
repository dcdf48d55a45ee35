using Chat.Contracts.V1;
using Chat.Domain;
using Dapr;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Chat.Core.Routing;

/// <summary>The route cache of an app that fans out (router, delivery): its services and its invalidation subscription.</summary>
public static class RouteCacheEndpoints
{
    public const string Route = "/internal/route-changes";

    /// <summary>Registers <see cref="FanOut"/> with a <see cref="RouteCache"/>, this instance's identity and its registration.</summary>
    public static IServiceCollection AddFanOutWithRouteCache(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.Configure<RouteCacheOptions>(configuration.GetSection(RouteCacheOptions.SectionName));
        services.AddSingleton<RouteCache>();
        services.AddSingleton<RouteCacheInstance>();
        services.AddHostedService<RouteCacheRegistration>();
        services.AddSingleton<FanOut>();
        return services;
    }

    /// <summary>
    /// Subscribes this instance to its topic <c>route-changes.{id}</c>. Called by the sidecar
    /// only (app token); a malformed event is dropped, since it never becomes valid.
    /// </summary>
    public static IEndpointRouteBuilder MapRouteChanges(this IEndpointRouteBuilder app)
    {
        var instance = app.ServiceProvider.GetRequiredService<RouteCacheInstance>();
        app.MapPost(Route, (HttpRequest request, RouteCache cache) => TopicEvent.HandleAsync<RoutesChanged>(request, (evt, _) =>
        {
            cache.Invalidate(evt.UserIds);
            return Task.FromResult(TopicEvent.Success);
        })).WithTopic(DaprNames.PubSub, DaprNames.Topics.RouteChanges(instance.Id));
        return app;
    }
}
