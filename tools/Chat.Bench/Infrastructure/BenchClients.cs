using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using Chat.Gateway.Hubs;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Bench.Infrastructure;

/// <summary>How the bench opens SignalR connections.</summary>
internal sealed class HubConnector(SourceAddresses? sources = null)
{
    /// <summary>
    /// A connection to <paramref name="hubUrl"/> over WebSockets (no negotiate round trip when
    /// <paramref name="skipNegotiation"/>), from the next 127.0.0.x source address when set.
    /// </summary>
    public HubConnection Build(string hubUrl, string? accessToken, bool skipNegotiation = false)
    {
        var builder = new HubConnectionBuilder().WithUrl(hubUrl, o =>
        {
            if (accessToken is not null)
            {
                o.AccessTokenProvider = () => Task.FromResult<string?>(accessToken);
            }

            o.Transports = HttpTransportType.WebSockets;
            o.SkipNegotiation = skipNegotiation;
            if (sources is not null)
            {
                o.HttpMessageHandlerFactory = _ => sources.CreateHandler();
                o.WebSocketFactory = async (context, ct) =>
                {
                    var ws = new ClientWebSocket();
                    if (accessToken is not null)
                    {
                        ws.Options.SetRequestHeader("Authorization", "Bearer " + accessToken);
                    }

                    using var invoker = new HttpMessageInvoker(sources.CreateHandler());
                    var uri = context.Uri;
                    var scheme = uri.Scheme == "https" ? "wss" : "ws";
                    await ws.ConnectAsync(new UriBuilder(uri) { Scheme = scheme }.Uri, invoker, ct);
                    return ws;
                };
            }
        });
        return builder.Build();
    }
}

/// <summary>The payload that carries the send time: "t={Stopwatch timestamp}|{padding}".</summary>
internal static class Stamp
{
    private static long _last;

    /// <summary>A payload stamped now; stamps are unique within the process (they also key pending sends).</summary>
    public static string Text(string? padding = null)
    {
        long ts, last;
        do
        {
            last = Interlocked.Read(ref _last);
            ts = Math.Max(Stopwatch.GetTimestamp(), last + 1);
        }
        while (Interlocked.CompareExchange(ref _last, ts, last) != last);

        return "t=" + ts.ToString(CultureInfo.InvariantCulture) + "|" + padding;
    }

    /// <summary>The timestamp in a payload, or null when the text carries none.</summary>
    public static long? Read(string? text)
    {
        if (text is null || !text.StartsWith("t=", StringComparison.Ordinal))
        {
            return null;
        }

        var end = text.IndexOf('|', StringComparison.Ordinal);
        return long.TryParse(text.AsSpan(2, (end < 0 ? text.Length : end) - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var ts) ? ts : null;
    }

    /// <summary>Registers a handler for MessageReceived that gets the stamped send time.</summary>
    public static IDisposable OnStamped(this HubConnection connection, Action<MessageDto, long> handler) =>
        connection.On<MessageDto>(nameof(IChatClient.MessageReceived), m =>
        {
            if (Read(m.Text) is { } ts)
            {
                handler(m, ts);
            }
        });
}

/// <summary>A raw WebSocket client of the echo baseline.</summary>
internal sealed class EchoClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly Task _reader;
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    private EchoClient(ClientWebSocket socket, Action<long> onEcho)
    {
        _socket = socket;
        _reader = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    var r = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    if (Stamp.Read(System.Text.Encoding.UTF8.GetString(buffer, 0, r.Count)) is { } ts)
                    {
                        onEcho(ts);
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        });
    }

    public static async Task<EchoClient> ConnectAsync(string url, SourceAddresses? sources, Action<long> onEcho, CancellationToken ct)
    {
        var ws = new ClientWebSocket();
        var uri = new UriBuilder(url) { Scheme = "ws", Path = BaselineServer.EchoPath }.Uri;
        if (sources is null)
        {
            await ws.ConnectAsync(uri, ct);
        }
        else
        {
            using var invoker = new HttpMessageInvoker(sources.CreateHandler());
            await ws.ConnectAsync(uri, invoker, ct);
        }

        return new EchoClient(ws, onEcho);
    }

    public async Task SendAsync(string text)
    {
        await _sendLock.WaitAsync();
        try
        {
            await _socket.SendAsync(System.Text.Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }

        _socket.Dispose();
        await _reader;
        _sendLock.Dispose();
    }
}
