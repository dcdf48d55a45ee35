using Chat.ServiceDefaults.Boundary;
using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Chat.ServiceDefaults.Auth;

/// <summary>Registration of the shared auth pieces, and access to the caller of a gRPC call.</summary>
public static class ChatAuthExtensions
{
    /// <summary>
    /// Registers <see cref="ChatTokenService"/>, the signing key loader (from the Dapr secret
    /// store through <see cref="IChatSigningKeyProvider"/>; register your own provider before
    /// this call to supply a key directly), the Dapr client (<see cref="DaprClientExtensions.AddChatDaprClient"/>)
    /// and <see cref="ChatAuthInterceptor"/>. The service adds the interceptor to its gRPC
    /// pipeline itself: <c>services.AddGrpc(o =&gt; o.Interceptors.Add&lt;ChatAuthInterceptor&gt;())</c>.
    /// Options bind from <see cref="ChatAuthOptions.SectionName"/>.
    /// </summary>
    public static IServiceCollection AddChatAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ChatAuthOptions>()
            .Bind(configuration.GetSection(ChatAuthOptions.SectionName))
            .PostConfigure(o => o.AppApiToken ??= SidecarToken.Configured(configuration));
        services.TryAddSingleton(TimeProvider.System);
        services.AddChatDaprClient(configuration);
        services.TryAddSingleton<IChatSigningKeyProvider, DaprSecretSigningKeyProvider>();
        services.TryAddSingleton(sp => new ChatTokenService(sp.GetRequiredService<IOptions<ChatAuthOptions>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService<ChatSigningKeyLoader>();
        services.TryAddSingleton<ChatAuthInterceptor>();
        return services;
    }

    /// <summary>The authenticated caller, or an Unauthenticated RpcException when there is none.</summary>
    public static ChatUser GetChatUser(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.UserState.TryGetValue(ChatAuthInterceptor.UserStateKey, out var value) && value is ChatUser user
            ? user
            : throw ChatStatus.Unauthenticated($"{context.Method} needs an authenticated caller (is ChatAuthInterceptor registered?).");
    }
}
