using System.Diagnostics;
using System.Text;
using Chat.Integration.Tests.Infrastructure;

namespace Chat.Integration.Tests.Polyglot;

/// <summary>
/// services/chat-bots, the Node.js app, as `dapr run` starts it: `node dist/…` with the
/// environment the Dapr CLI gives an app. Its output is kept for assertions and failure messages;
/// disposing kills it. Built on first use (its build.sh) when ./test.sh has not built it.
/// </summary>
public sealed class NodeApp : IAsyncDisposable
{
    private static readonly SemaphoreSlim Build = new(1, 1);
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private NodeApp(Process process)
    {
        _process = process;
    }

    public static string Dir { get; } = Path.Combine(RepoPaths.Root, "services", "chat-bots");

    /// <summary>Everything the app printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts <paramref name="script"/> (relative to services/chat-bots) with <paramref name="env"/>.</summary>
    public static async Task<NodeApp> StartAsync(string script, IReadOnlyDictionary<string, string> env)
    {
        await EnsureBuiltAsync();
        var start = new ProcessStartInfo("node") { WorkingDirectory = Dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        foreach (var name in (string[])["DAPR_HTTP_ENDPOINT", "DAPR_GRPC_ENDPOINT", "DAPR_API_TOKEN", "APP_API_TOKEN", "DAPR_HTTP_PORT", "DAPR_GRPC_PORT", "APP_PORT"])
        {
            start.Environment.Remove(name);
        }

        foreach (var (key, value) in env)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        var app = new NodeApp(process);
        process.OutputDataReceived += (_, e) => app.Append(e.Data);
        process.ErrorDataReceived += (_, e) => app.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return app;
    }

    /// <summary>Runs a script to its end (killed after <paramref name="timeout"/>); returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string script, IReadOnlyDictionary<string, string> env, TimeSpan timeout)
    {
        await using var app = await StartAsync(script, env);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await app._process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return (-1, app.Output + $"\n(killed after {timeout.TotalSeconds:0} s)");
        }

        // The exit is seen before the last output lines; WaitForExit() without a timeout drains them.
        app._process.WaitForExit();
        return (app._process.ExitCode, app.Output);
    }

    /// <summary>Waits until the app has printed a line containing every one of <paramref name="parts"/>.</summary>
    public async Task WaitForLineAsync(TimeSpan timeout, params string[] parts)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Split('\n').Any(line => parts.All(p => line.Contains(p, StringComparison.Ordinal))))
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new TimeoutException($"the Node app printed no line with '{string.Join("' and '", parts)}':\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>A clean clone (or a test run without ./test.sh) has no build: make it as test.sh does.</summary>
    private static async Task EnsureBuiltAsync()
    {
        await Build.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(Dir, "dist", "main.js")))
            {
                return;
            }

            var (code, output) = await RunToolAsync("bash", ["build.sh"]);
            if (code != 0)
            {
                throw new InvalidOperationException($"services/chat-bots/build.sh failed:\n{output}");
            }
        }
        finally
        {
            Build.Release();
        }
    }

    private static async Task<(int, string)> RunToolAsync(string file, string[] args)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = Dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
