using System.Net;
using System.Net.Sockets;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>
/// A loopback TCP proxy between clients and a server whose connections a test can sever, as a
/// dropped network would (RST, no close frames), and whose new connections it can hold back for
/// a while (the network is still down) before letting them through.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _open = [];
    private readonly Lock _lock = new();
    private TaskCompletionSource _released = Released();
    private volatile bool _refusing;
    private int _accepted;

    public TcpProxy(string targetUrl)
    {
        _target = new Uri(targetUrl);
        _listener.Start();
        _ = AcceptLoopAsync();
    }

    /// <summary>The proxy's URL (same scheme as the target).</summary>
    public string Url => $"{_target.Scheme}://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>How many client connections the proxy has accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Holds new connections (they wait, unanswered) until <see cref="Release"/>.</summary>
    public void Hold()
    {
        lock (_lock)
        {
            if (_released.Task.IsCompleted)
            {
                _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>
    /// Resets new connections at once until <see cref="Release"/>, as a network that is down
    /// and known to be down fails them (where <see cref="Hold"/> leaves them hanging).
    /// </summary>
    public void Refuse() => _refusing = true;

    /// <summary>Lets held and new connections through to the server.</summary>
    public void Release()
    {
        _refusing = false;
        lock (_lock)
        {
            _released.TrySetResult();
        }
    }

    /// <summary>Resets every open connection on both sides at once.</summary>
    public void Sever()
    {
        Socket[] open;
        lock (_lock)
        {
            open = [.. _open];
            _open.Clear();
        }

        foreach (var s in open)
        {
            try
            {
                s.LingerState = new LingerOption(true, 0); // Close with RST, as a dead link looks.
                s.Close();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private static TaskCompletionSource Released()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tcs.SetResult();
        return tcs;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            if (_refusing)
            {
                client.LingerState = new LingerOption(true, 0);
                client.Close();
                continue;
            }

            _ = PipeAsync(client);
        }
    }

    private async Task PipeAsync(Socket client)
    {
        Track(client);
        Task released;
        lock (_lock)
        {
            released = _released.Task;
        }

        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await released.WaitAsync(_stop.Token);
            await server.ConnectAsync(_target.Host == "localhost" ? "127.0.0.1" : _target.Host, _target.Port, _stop.Token);
            Track(server);
            client.NoDelay = true;
            // When either side ends, the other is closed too.
            await Task.WhenAny(CopyAsync(client, server), CopyAsync(server, client));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
            server.Dispose();
            lock (_lock)
            {
                _open.Remove(client);
                _open.Remove(server);
            }
        }
    }

    private void Track(Socket s)
    {
        lock (_lock)
        {
            _open.Add(s);
        }
    }

    private async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Sever();
        _stop.Dispose();
    }
}
