using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Chat.Domain;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Chat.Gateway.Hubs;

/// <summary>
/// Wraps a hub protocol so that the errors SignalR raises itself, before any hub code runs,
/// reach the client with a code like every other hub error (<c>"… HubException: {code}: {message}"</c>):
/// arguments that do not bind (wrong types, missing or extra arguments) become
/// <c>invalid_argument</c>, an unknown method <c>unknown_method</c>, and a connection closed
/// because a frame could not be read (over the size limit, malformed) <c>invalid_frame</c>.
/// Without it the client only sees "Failed to invoke 'X' due to an error on the server."
/// </summary>
public sealed class CodedHubProtocol(IHubProtocol inner) : IHubProtocol
{
    // The texts DefaultHubDispatcher and HubConnectionHandler write when detailed errors are off.
    private const string BindingFailurePrefix = "Failed to invoke '";
    private const string BindingFailureSuffix = "' due to an error on the server.";
    private const string UnknownMethodDetail = " HubException: Method does not exist.";
    private const string ClosedWithError = "Connection closed with an error.";

    public string Name => inner.Name;

    public int Version => inner.Version;

    public TransferFormat TransferFormat => inner.TransferFormat;

    public bool IsVersionSupported(int version) => inner.IsVersionSupported(version);

    public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [NotNullWhen(true)] out HubMessage? message) =>
        inner.TryParseMessage(ref input, binder, out message);

    public void WriteMessage(HubMessage message, IBufferWriter<byte> output) => inner.WriteMessage(Rewrite(message), output);

    public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message) => inner.GetMessageBytes(Rewrite(message));

    /// <summary>The message with a coded error in place of SignalR's own uncoded one (others unchanged).</summary>
    public static HubMessage Rewrite(HubMessage message)
    {
        switch (message)
        {
            case CompletionMessage { Error: { } error, InvocationId: { } id } completion when error.StartsWith(BindingFailurePrefix, StringComparison.Ordinal):
                var end = error.IndexOf(BindingFailureSuffix, BindingFailurePrefix.Length, StringComparison.Ordinal);
                if (end < 0)
                {
                    return message;
                }

                var method = error[BindingFailurePrefix.Length..end];
                var coded = error.EndsWith(UnknownMethodDetail, StringComparison.Ordinal)
                    ? Coded(method, ErrorCodes.UnknownMethod, $"The hub has no method '{method}'.")
                    : Coded(method, ErrorCodes.InvalidArgument,
                        $"The arguments do not match the parameters of '{method}' (wrong types, or missing or extra arguments); it takes one argument object.");
                return new CompletionMessage(id, coded, result: null, hasResult: false) { Headers = completion.Headers };
            case CloseMessage { Error: ClosedWithError } close:
                return new CloseMessage(
                    $"{ClosedWithError} HubException: {ErrorCodes.InvalidFrame}: A message could not be read: it was over the {GatewayServices.MaxHubMessageBytes}-byte limit or not a valid message of the protocol. Reconnect and send it well-formed and smaller.",
                    close.AllowReconnect);
            default:
                return message;
        }
    }

    private static string Coded(string method, string code, string text) => $"{BindingFailurePrefix}{method}'. HubException: {code}: {text}";
}

/// <summary>Registration of <see cref="CodedHubProtocol"/> around every hub protocol.</summary>
public static class CodedHubProtocolExtensions
{
    /// <summary>Wraps each registered <see cref="IHubProtocol"/>; call after the protocols are added.</summary>
    public static IServiceCollection AddCodedHubErrors(this IServiceCollection services)
    {
        var protocols = services.Where(d => d.ServiceType == typeof(IHubProtocol)).ToList();
        foreach (var descriptor in protocols)
        {
            services.Remove(descriptor);
            services.AddSingleton<IHubProtocol>(sp => new CodedHubProtocol(descriptor switch
            {
                { ImplementationInstance: IHubProtocol instance } => instance,
                { ImplementationFactory: { } factory } => (IHubProtocol)factory(sp),
                _ => (IHubProtocol)ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!),
            }));
        }

        return services;
    }
}
