using System.Globalization;
using Dapr.Actors.Client;
using Dapr.Client;
using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.ServiceDefaults;

/// <summary>The setup every app repeats: its gRPC server, gRPC clients of other apps, actor proxies.</summary>
public static class DaprSetupExtensions
{
    /// <summary>
    /// The chat.v1 gRPC server: <see cref="GrpcErrorInterceptor"/> (handler errors become coded
    /// statuses) and then <c>ChatAuthInterceptor</c> (the caller's token or app-id).
    /// </summary>
    public static IServiceCollection AddChatGrpcServer(this IServiceCollection services, int? maxReceiveMessageSize = null)
    {
        services.AddGrpc(o =>
        {
            o.Interceptors.Add<GrpcErrorInterceptor>();
            // Errors of handlers are mapped by GrpcErrorInterceptor; what remains detailed is the
            // framework's own, e.g. a request that is not a valid protobuf message.
            o.EnableDetailedErrors = true;
            o.Interceptors.Add<Auth.ChatAuthInterceptor>();
            if (maxReceiveMessageSize is { } max)
            {
                o.MaxReceiveMessageSize = max;
            }
        });
        return services;
    }

    /// <summary>
    /// A gRPC client of <paramref name="appId"/>'s service, reached through this app's sidecar
    /// (Dapr gRPC proxying: the sidecar routes by the <c>dapr-app-id</c> metadata).
    /// </summary>
    public static IServiceCollection AddDaprGrpcClient<TClient>(this IServiceCollection services, IConfiguration configuration, string appId,
        Func<CallInvoker, TClient> create) where TClient : class =>
        services.AddSingleton(_ => create(DaprClient.CreateInvocationInvoker(
            appId, DaprEndpoints.GrpcEndpoint(configuration).ToString(), configuration["DAPR_API_TOKEN"])));

    /// <summary>Actor proxies through this app's sidecar (the .NET actor client speaks HTTP).</summary>
    public static IServiceCollection AddChatActorProxies(this IServiceCollection services, IConfiguration configuration) =>
        services.AddSingleton<IActorProxyFactory>(_ => new ActorProxyFactory(new ActorProxyOptions
        {
            HttpEndpoint = DaprEndpoints.HttpEndpoint(configuration).ToString(),
            DaprApiToken = configuration["DAPR_API_TOKEN"],
            // Above a saturated send path's queueing (seconds), below a client's patience.
            RequestTimeout = TimeSpan.FromSeconds(30),
        }));
}

/// <summary>State request metadata that several apps write.</summary>
public static class DaprStateMetadata
{
    /// <summary><c>ttlInSeconds</c> for a state save (whole seconds, rounded up; at least 1).</summary>
    public static IReadOnlyDictionary<string, string> Ttl(TimeSpan ttl) => new Dictionary<string, string>
    {
        ["ttlInSeconds"] = Math.Max(1, (long)Math.Ceiling(ttl.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
    };
}
