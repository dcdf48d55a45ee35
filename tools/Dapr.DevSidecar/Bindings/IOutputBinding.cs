namespace Dapr.DevSidecar.Bindings;

/// <summary>An output binding call: the operation, the data and the request metadata.</summary>
public sealed record BindingRequest(string Operation, byte[] Data, IReadOnlyDictionary<string, string> Metadata);

/// <summary>What a binding answers: data and response metadata.</summary>
public sealed record BindingResponse(byte[] Data, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// A binding call that failed. <see cref="Response"/> carries the response when the binding has
/// one anyway (bindings.http returns its metadata even on a non-2xx status), as daprd passes it on.
/// </summary>
public sealed class BindingException(string message, BindingResponse? response = null) : Exception(message)
{
    public BindingResponse? Response { get; } = response;
}

/// <summary>An output binding component.</summary>
public interface IOutputBinding
{
    IReadOnlyList<string> Operations { get; }

    Task<BindingResponse> InvokeAsync(BindingRequest request, CancellationToken cancellationToken);
}
