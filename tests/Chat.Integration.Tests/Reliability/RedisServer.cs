using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Dapr.DevSidecar.Hosting;

namespace Chat.Integration.Tests.Reliability;

/// <summary>
/// A redis-server of one test, with AOF on (<c>--appendonly yes --appendfsync everysec</c>) in a
/// temp folder, that can be killed with SIGKILL and started again on the same port with its data.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _dir;
    private Process? _process;

    private RedisServer(int port, string dir)
    {
        Port = port;
        _dir = dir;
    }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var server = new RedisServer(SidecarHost.FreePort(), System.IO.Directory.CreateTempSubdirectory("chat-redis-").FullName);
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>SIGKILL: no shutdown, no final fsync; what the OS has of the AOF is what survives.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Starts redis-server again on the same port and folder; it replays the AOF.</summary>
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
        foreach (var arg in new[]
        {
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _dir,
            "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
        })
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start (is it installed? apt-get install redis-server)");
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
                await tcp.ConnectAsync("127.0.0.1", Port);
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

    public ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            System.IO.Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
