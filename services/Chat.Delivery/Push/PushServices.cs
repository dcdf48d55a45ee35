using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Chat.Delivery.Push;

/// <summary>Registration of push notifications in the delivery app.</summary>
public static class PushServices
{
    public static IServiceCollection AddPush(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<PushOptions>(config.GetSection("Push"));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<PushStats>();
        services.AddSingleton<PushSecrets>();
        services.AddSingleton<FcmAccessTokens>();
        services.AddSingleton<IPushSender, ApnsSender>();
        services.AddSingleton<IPushSender, FcmSender>();
        services.AddSingleton<IPushSender, WebPushSender>();
        services.AddSingleton<PushNotifier>();
        services.AddSingleton<IOfflineNotifier>(sp => sp.GetRequiredService<PushNotifier>());
        return services;
    }
}
