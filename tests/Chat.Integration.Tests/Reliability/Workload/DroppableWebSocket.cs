using System.Net.WebSockets;

namespace Chat.Integration.Tests.Reliability.Workload;

/// <summary>
/// A client WebSocket the test can break: <see cref="Drop"/> aborts it with no close handshake
/// (the server sees the TCP connection end), and <see cref="FreezeReceive"/> stops handing
/// incoming frames to SignalR (so an ack sent by the server is never seen: a lost ack).
/// </summary>
public sealed class DroppableWebSocket(ClientWebSocket inner) : WebSocket
{
    private readonly TaskCompletionSource _dropped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _frozen;

    public override WebSocketCloseStatus? CloseStatus => inner.CloseStatus;

    public override string? CloseStatusDescription => inner.CloseStatusDescription;

    public override WebSocketState State => inner.State;

    public override string? SubProtocol => inner.SubProtocol;

    /// <summary>From now on, received frames are held back until the socket is dropped.</summary>
    public void FreezeReceive() => _frozen = true;

    /// <summary>Aborts the connection at once: no close frame, the TCP connection is torn down.</summary>
    public void Drop()
    {
        inner.Abort();
        _dropped.TrySetResult();
    }

    public override void Abort()
    {
        inner.Abort();
        _dropped.TrySetResult();
    }

    public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
        inner.CloseAsync(closeStatus, statusDescription, cancellationToken);

    public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
        inner.CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

    public override void Dispose()
    {
        inner.Dispose();
        _dropped.TrySetResult();
    }

    public override async Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
    {
        await HoldIfFrozenAsync(cancellationToken);
        return await inner.ReceiveAsync(buffer, cancellationToken);
    }

    public override async ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await HoldIfFrozenAsync(cancellationToken);
        var result = await inner.ReceiveAsync(buffer, cancellationToken);
        // A frame that arrived while we were reading, after the freeze: hold it back too.
        await HoldIfFrozenAsync(cancellationToken);
        return result;
    }

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        inner.SendAsync(buffer, messageType, endOfMessage, cancellationToken);

    public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        inner.SendAsync(buffer, messageType, endOfMessage, cancellationToken);

    private async Task HoldIfFrozenAsync(CancellationToken cancellationToken)
    {
        if (_frozen)
        {
            await _dropped.Task.WaitAsync(cancellationToken);
            throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "dropped by the test");
        }
    }
}
