using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace Chat.Core;

/// <summary>
/// One pub/sub delivery to an app (not bulk): the answers the sidecar reads (its <c>status</c>
/// field) and the common reading of a protobuf event, where a malformed one is dropped.
/// </summary>
public static class TopicEvent
{
    public static readonly IResult Success = Results.Ok(new { status = "SUCCESS" });

    /// <summary>Redeliver later (a transient failure).</summary>
    public static readonly IResult Retry = Results.Ok(new { status = "RETRY" });

    /// <summary>Never deliver again (to the dead-letter topic if one is set).</summary>
    public static readonly IResult Drop = Results.Ok(new { status = "DROP" });

    /// <summary>
    /// Reads the request's event (see <see cref="ProtoPubSub.ReadProtoAsync{T}"/>) and answers what
    /// <paramref name="handle"/> returns; <see cref="Drop"/> when it is not a <typeparamref name="T"/>,
    /// since a malformed event never becomes valid (<paramref name="onMalformed"/> sees why).
    /// </summary>
    public static async Task<IResult> HandleAsync<T>(HttpRequest request, Func<T, CancellationToken, Task<IResult>> handle, Action<Exception>? onMalformed = null)
        where T : IMessage<T>, new()
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(handle);
        var ct = request.HttpContext.RequestAborted;
        T evt;
        try
        {
            evt = await ProtoPubSub.ReadProtoAsync<T>(request.Body, request.ContentType, ct);
        }
        catch (InvalidProtocolBufferException ex)
        {
            onMalformed?.Invoke(ex);
            return Drop;
        }

        return await handle(evt, ct);
    }
}
