using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Chat.Testing;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port, in a temp folder of its own. With
/// <c>persistent</c> it keeps an append-only file (<c>--appendonly yes --appendfsync everysec</c>),
/// so it can be killed with SIGKILL and started again on the same port with its data.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _dir;
    private readonly bool _persistent;
    private Process? _process;

    private RedisServer(int port, string dir, bool persistent)
    {
        Port = port;
        _dir = dir;
        _persistent = persistent;
    }

    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>, as the <c>redisHost</c> metadata of a component expects.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync(bool persistent = false)
    {
        var server = new RedisServer(FreePort(), Directory.CreateTempSubdirectory("chat-redis-").FullName, persistent);
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>SIGKILL: no shutdown, no final fsync; what the OS has of the AOF is what survives.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Starts redis-server again on the same port and folder; with persistence it replays the AOF.</summary>
    public Task RestartAsync() => StartProcessAsync();

    private async Task StartProcessAsync()
    {
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _dir,
        };
        string[] persistence = _persistent ? ["--appendonly", "yes", "--appendfsync", "everysec"] : ["--appendonly", "no"];
        foreach (var arg in new[] { "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _dir, "--save", "" }.Concat(persistence))
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start (is it installed? apt-get install -y redis-server)");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitForPingAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>Waits until the server answers PING (after an AOF replay, LOADING errors come first).</summary>
    private async Task WaitForPingAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, Port);
                var stream = tcp.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray());
                var buffer = new byte[64];
                var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
                if (read > 0 && System.Text.Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or TimeoutException && DateTime.UtcNow < deadline)
            {
            }

            if (_process is null || _process.HasExited)
            {
                throw new InvalidOperationException($"redis-server on port {Port} exited (code {_process?.ExitCode}).");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"redis-server on port {Port} did not answer PING within {timeout}.");
            }

            await Task.Delay(50);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// One <see cref="RedisServer"/> (no persistence) shared by the test classes of a collection
/// (each test project declares its own <c>RedisCollection</c> with this fixture). Tests keep
/// apart by unique ids, component names or key prefixes.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private RedisServer? _server;

    /// <summary><c>127.0.0.1:port</c>, as the <c>redisHost</c> metadata of a component expects.</summary>
    public string Endpoint => _server?.Endpoint ?? throw new InvalidOperationException("redis-server is not started");

    public async Task InitializeAsync() => _server = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
