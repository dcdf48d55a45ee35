using System.Net;
using System.Net.Sockets;

namespace Chat.Bench.Infrastructure;

/// <summary>
/// Spreads client sockets over 127.0.0.2 … 127.0.0.{1+count} as source addresses, so that more
/// connections than the ephemeral port range fit towards one server port (each source address
/// has its own port range).
/// </summary>
internal sealed class SourceAddresses(int count)
{
    private int _next;

    /// <summary>A handler whose connections bind to the next source address in turn.</summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        ConnectCallback = ConnectAsync,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    };

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var n = (int)((uint)Interlocked.Increment(ref _next) % (uint)count);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(new IPAddress([127, 0, 0, (byte)(2 + n)]), 0));
            var host = context.DnsEndPoint.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(context.DnsEndPoint.Host);
            await socket.ConnectAsync(new IPEndPoint(host, context.DnsEndPoint.Port), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
