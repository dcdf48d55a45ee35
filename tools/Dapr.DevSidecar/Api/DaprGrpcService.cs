using System.Collections.Frozen;
using Dapr.Client.Autogen.Grpc.v1;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.State;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Dapr.DevSidecar.Api;

/// <summary>
/// The sidecar's gRPC API, <c>dapr.proto.runtime.v1.Dapr</c>, bound by hand over the message
/// types of the Dapr.Protos package (which ships no server base class). Grpc.AspNetCore
/// finds each handler as a public virtual method named like the RPC. RPCs not bound here are
/// answered Unimplemented, naming the method, by <see cref="GrpcFallbackMiddleware"/>.
/// </summary>
[BindServiceMethod(typeof(DaprGrpcService), nameof(BindService))]
public partial class DaprGrpcService(SidecarContext sidecar, StateApi state, IServiceProvider services)
{
    public const string ServiceName = "dapr.proto.runtime.v1.Dapr";

    // Collected once: every gRPC request asks (GrpcFallbackMiddleware), so no lock on the way.
    private static readonly Lazy<FrozenSet<string>> BoundMethods = new(() =>
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        BindService(new NameCollector(names), null);
        return names.ToFrozenSet(StringComparer.Ordinal);
    });

    /// <summary>Whether this sidecar implements the RPC <paramref name="method"/> (no string made per request).</summary>
    public static bool IsImplemented(ReadOnlySpan<char> method) => BoundMethods.Value.GetAlternateLookup<ReadOnlySpan<char>>().Contains(method);

    protected SidecarContext Sidecar { get; } = sidecar;

    /// <summary>The sidecar's services, for building blocks that keep their own API objects in DI.</summary>
    protected IServiceProvider Services { get; } = services;

    public static void BindService(ServiceBinderBase binder, DaprGrpcService? service)
    {
        // Each building block binds its RPCs in its own partial file, in its folder.
        BindState(binder, service);
        BindPubSub(binder, service);
        BindBindings(binder, service);
        BindSecrets(binder, service);
        BindMetadata(binder, service);
        BindInvocation(binder, service);
        BindActors(binder, service);
    }

    static partial void BindState(ServiceBinderBase binder, DaprGrpcService? service);

    static partial void BindPubSub(ServiceBinderBase binder, DaprGrpcService? service);

    static partial void BindBindings(ServiceBinderBase binder, DaprGrpcService? service);

    static partial void BindSecrets(ServiceBinderBase binder, DaprGrpcService? service);

    static partial void BindMetadata(ServiceBinderBase binder, DaprGrpcService? service);

    static partial void BindInvocation(ServiceBinderBase binder, DaprGrpcService? service);

    static partial void BindActors(ServiceBinderBase binder, DaprGrpcService? service);

    /// <summary>Adds one unary RPC of the Dapr service.</summary>
    protected static void Unary<TRequest, TResponse>(
        ServiceBinderBase binder, string name, MessageParser<TRequest> requestParser, MessageParser<TResponse> responseParser,
        UnaryServerMethod<TRequest, TResponse>? handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var method = new Method<TRequest, TResponse>(
            MethodType.Unary, ServiceName, name,
            Marshallers.Create(m => m.ToByteArray(), requestParser.ParseFrom),
            Marshallers.Create(m => m.ToByteArray(), responseParser.ParseFrom));
        binder.AddMethod(method, handler);
    }

    /// <summary>Collects the bound RPC names without building handlers.</summary>
    private sealed class NameCollector(HashSet<string> names) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) => names.Add(method.Name);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) => names.Add(method.Name);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) => names.Add(method.Name);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) => names.Add(method.Name);
    }
}
