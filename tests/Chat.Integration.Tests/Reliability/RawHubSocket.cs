using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Chat.Gateway;

namespace Chat.Integration.Tests.Reliability;

/// <summary>
/// A bare WebSocket speaking the SignalR JSON protocol by hand, to send frames a real client
/// never would. Frames end with the record separator 0x1E.
/// </summary>
public sealed class RawHubSocket : IAsyncDisposable
{
    private const char Separator = '\u001e';
    private readonly ClientWebSocket _socket = new();
    private readonly StringBuilder _pending = new();

    public WebSocketState State => _socket.State;

    /// <summary>Connects to the hub (no negotiation, as SkipNegotiation) and completes the JSON handshake.</summary>
    public static async Task<RawHubSocket> ConnectAsync(string gatewayUrl, string accessToken)
    {
        var raw = new RawHubSocket();
        raw._socket.Options.SetRequestHeader("Authorization", "Bearer " + accessToken);
        var uri = new Uri(gatewayUrl.Replace("http://", "ws://", StringComparison.Ordinal).TrimEnd('/') + GatewayServices.HubPath);
        await raw._socket.ConnectAsync(uri, CancellationToken.None);
        await raw.SendAsync("""{"protocol":"json","version":1}""");
        var handshake = await raw.ReceiveAsync();
        if (handshake.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException("handshake refused: " + error);
        }

        return raw;
    }

    /// <summary>Sends one frame (the separator is added).</summary>
    public Task SendAsync(string frame) => SendRawAsync(Encoding.UTF8.GetBytes(frame + Separator));

    public async Task SendRawAsync(byte[] bytes) =>
        await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    /// <summary>The next frame that is not a ping.</summary>
    public async Task<JsonElement> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var text = _pending.ToString();
            var end = text.IndexOf(Separator, StringComparison.Ordinal);
            if (end >= 0)
            {
                _pending.Remove(0, end + 1);
                var frame = JsonDocument.Parse(text[..end]).RootElement.Clone();
                if (frame.TryGetProperty("type", out var type) && type.GetInt32() == 6)
                {
                    continue; // ping
                }

                return frame;
            }

            var result = await _socket.ReceiveAsync(buffer, cts.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, $"closed: {result.CloseStatus} {result.CloseStatusDescription}");
            }

            _pending.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
        }
    }

    /// <summary>Invokes a method with the given raw JSON arguments; returns the completion frame.</summary>
    public async Task<JsonElement> InvokeAsync(string invocationId, string target, string argumentsJson)
    {
        await SendAsync($$"""{"type":1,"invocationId":"{{invocationId}}","target":"{{target}}","arguments":{{argumentsJson}}}""");
        while (true)
        {
            var frame = await ReceiveAsync();
            if (frame.GetProperty("type").GetInt32() == 3 && frame.GetProperty("invocationId").GetString() == invocationId)
            {
                return frame;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            }
            catch (WebSocketException)
            {
            }
        }

        _socket.Dispose();
    }
}
