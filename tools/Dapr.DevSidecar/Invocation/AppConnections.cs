using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Grpc.Net.Client;
using Yarp.ReverseProxy.Forwarder;

namespace Dapr.DevSidecar.Invocation;

/// <summary>
/// The connections every sidecar of the process uses to reach apps: one pooled
/// <see cref="SocketsHttpHandler"/> (HTTP/1.1 and h2c, several HTTP/2 connections per app when
/// streams pile up), shared by the HTTP forwarder, plain HTTP calls and gRPC channels.
/// </summary>
internal static class AppConnections
{
    private static readonly ConcurrentDictionary<string, GrpcChannel> GrpcChannels = new(StringComparer.Ordinal);

    public static SocketsHttpHandler Handler { get; } = new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        // The caller's traceparent/tracestate go through as they came, as daprd forwards them.
        ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
    };

    public static HttpMessageInvoker Invoker { get; } = new(Handler, disposeHandler: false);

    public static HttpClient Http { get; } = new(Handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>HTTP apps: HTTP/1.1 (or lower), no per-call timeout (daprd has none without a resiliency policy).</summary>
    public static ForwarderRequestConfig HttpForwarding { get; } = new()
    {
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        ActivityTimeout = TimeSpan.FromHours(1),
    };

    /// <summary>gRPC proxying: h2c with prior knowledge; long-lived streams may be idle for a long time.</summary>
    public static ForwarderRequestConfig GrpcForwarding { get; } = new()
    {
        Version = HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        ActivityTimeout = TimeSpan.FromHours(24),
    };

    /// <summary>A unary method of the app's <c>dapr.proto.runtime.v1.AppCallback</c> service.</summary>
    public static Grpc.Core.Method<TRequest, TResponse> AppCallbackMethod<TRequest, TResponse>(string name,
        Google.Protobuf.MessageParser<TRequest> request, Google.Protobuf.MessageParser<TResponse> response)
        where TRequest : Google.Protobuf.IMessage<TRequest>
        where TResponse : Google.Protobuf.IMessage<TResponse> =>
        new(Grpc.Core.MethodType.Unary, "dapr.proto.runtime.v1.AppCallback", name,
            Grpc.Core.Marshallers.Create(m => Google.Protobuf.MessageExtensions.ToByteArray(m), request.ParseFrom),
            Grpc.Core.Marshallers.Create(m => Google.Protobuf.MessageExtensions.ToByteArray(m), response.ParseFrom));

    /// <summary>A gRPC channel to an app (for AppCallback calls), one per address.</summary>
    public static GrpcChannel GrpcTo(string host, int port) =>
        GrpcChannels.GetOrAdd($"http://{host}:{port}", address => GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            // GrpcChannel configures its handler itself, so it gets its own (this path is the deprecated InvokeService only).
            HttpHandler = new SocketsHttpHandler { UseProxy = false, EnableMultipleHttp2Connections = true, ConnectTimeout = TimeSpan.FromSeconds(10) },
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
        }));
}
