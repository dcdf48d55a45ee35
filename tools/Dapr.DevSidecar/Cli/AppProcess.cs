using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Dapr.DevSidecar.Hosting;

namespace Dapr.DevSidecar.Cli;

/// <summary>
/// An app command started next to its sidecar, as the Dapr CLI starts it: the CLI's
/// environment, every output line prefixed with <c>== APP - {appId} ==</c>, a health wait, and
/// SIGTERM then kill (after a grace period) to stop it.
/// </summary>
internal sealed class AppProcess : IAsyncDisposable
{
    private static readonly Lock ConsoleGate = new();
    private readonly Process _process;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private AppProcess(Process process, string appId)
    {
        _process = process;
        AppId = appId;
    }

    public string AppId { get; }

    public int Pid => _process.Id;

    /// <summary>Completes with the exit code when the app exits.</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>The environment the Dapr CLI gives an app, plus the sidecar endpoints and tokens.</summary>
    public static Dictionary<string, string> Environment(SidecarOptions options, RunningSidecar sidecar)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["APP_ID"] = options.AppId,
            ["APP_PROTOCOL"] = options.AppProtocol,
            ["DAPR_HTTP_PORT"] = sidecar.HttpPort.ToString(CultureInfo.InvariantCulture),
            ["DAPR_GRPC_PORT"] = sidecar.GrpcPort.ToString(CultureInfo.InvariantCulture),
            ["DAPR_HTTP_ENDPOINT"] = sidecar.HttpEndpoint,
            ["DAPR_GRPC_ENDPOINT"] = sidecar.GrpcEndpoint,
        };
        if (options.AppPort is { } port)
        {
            env["APP_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        }

        if (!string.IsNullOrEmpty(options.ApiToken))
        {
            env["DAPR_API_TOKEN"] = options.ApiToken;
        }

        if (!string.IsNullOrEmpty(options.AppApiToken))
        {
            env["APP_API_TOKEN"] = options.AppApiToken;
        }

        return env;
    }

    /// <summary>Variables that differ per instance: a replica keeps its own, whatever the run file says.</summary>
    private static readonly string[] InstanceVariables = ["APP_PORT", "DAPR_HTTP_PORT", "DAPR_GRPC_PORT", "DAPR_HTTP_ENDPOINT", "DAPR_GRPC_ENDPOINT"];

    /// <summary>
    /// The run file's <c>env</c> (common, then the app's) over the sidecar's variables: as with the
    /// Dapr CLI, which appends the user's variables after its own, the run file wins. The CLI
    /// sets no <c>DAPR_*_ENDPOINT</c>, and the SDKs prefer an endpoint over a port, so a run file
    /// that sets <c>DAPR_HTTP_PORT</c> (or <c>DAPR_GRPC_PORT</c>) alone also drops the dev sidecar's
    /// endpoint variable for that protocol. Replicas after the first (<c>devSidecarReplicas</c>)
    /// keep their own ports and endpoints.
    /// </summary>
    public static Dictionary<string, string> WithRunFileEnv(IReadOnlyDictionary<string, string> sidecarEnv, IReadOnlyDictionary<string, string> runFileEnv, int replica)
    {
        var env = new Dictionary<string, string>(sidecarEnv, StringComparer.Ordinal);
        foreach (var protocol in (string[])["HTTP", "GRPC"])
        {
            if (runFileEnv.ContainsKey($"DAPR_{protocol}_PORT") && !runFileEnv.ContainsKey($"DAPR_{protocol}_ENDPOINT"))
            {
                env.Remove($"DAPR_{protocol}_ENDPOINT");
            }
        }

        foreach (var (key, value) in runFileEnv)
        {
            if (replica == 0 || !InstanceVariables.Contains(key, StringComparer.Ordinal))
            {
                env[key] = value;
            }
        }

        if (replica > 0)
        {
            foreach (var key in InstanceVariables.Where(sidecarEnv.ContainsKey))
            {
                env[key] = sidecarEnv[key];
            }
        }

        return env;
    }

    public static AppProcess Start(string appId, IReadOnlyList<string> command, string? workingDirectory, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            WorkingDirectory = workingDirectory ?? System.Environment.CurrentDirectory,
        };
        foreach (var arg in command.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var app = new AppProcess(process, appId);
        process.OutputDataReceived += (_, e) => app.WriteLine(e.Data, Console.Out);
        process.ErrorDataReceived += (_, e) => app.WriteLine(e.Data, Console.Error);
        process.Exited += (_, _) =>
        {
            // Let the output readers drain before reporting the exit.
            process.WaitForExit();
            app._exited.TrySetResult(process.ExitCode);
        };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new ArgumentException($"cannot start the command of app '{appId}' ({command[0]}): {ex.Message}", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return app;
    }

    private void WriteLine(string? line, TextWriter writer)
    {
        if (line is null)
        {
            return;
        }

        lock (ConsoleGate)
        {
            writer.WriteLine($"== APP - {AppId} == {line}");
            writer.Flush();
        }
    }

    /// <summary>
    /// Waits until the app takes calls: its port accepts connections and, for an HTTP app, the
    /// health path answers below 500 (a 404 means the app has no health endpoint, which is fine).
    /// Returns false if the app exits first.
    /// </summary>
    public async Task<bool> WaitHealthyAsync(SidecarOptions options, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (options.AppPort is not { } port)
        {
            return !Exited.IsCompleted;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            while (!Exited.IsCompleted)
            {
                try
                {
                    if (options.AppProtocol == "grpc")
                    {
                        using var tcp = new TcpClient();
                        await tcp.ConnectAsync(options.AppChannelAddress, port, cts.Token);
                        return true;
                    }

                    using var response = await http.GetAsync(new Uri($"http://{options.AppChannelAddress}:{port}{options.AppHealthCheckPath}"), cts.Token);
                    if ((int)response.StatusCode < 500)
                    {
                        return true;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or SocketException or TaskCanceledException && !cts.IsCancellationRequested)
                {
                    // Not listening yet.
                }

                await Task.Delay(100, cts.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Not healthy within the timeout: the caller reports it, and the app keeps running.
        }

        return false;
    }

    /// <summary>SIGTERM to the app and its child processes, then a kill after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (Exited.IsCompleted)
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            _process.Kill(entireProcessTree: true);
        }
        else
        {
            // `dotnet run` and shell wrappers start the real app as a child: signal the whole tree.
            foreach (var pid in Descendants(_process.Id).Prepend(_process.Id))
            {
                _ = SendSignal(pid, 15);
            }
        }

        if (await Task.WhenAny(Exited, Task.Delay(grace)) != Exited)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited meanwhile.
            }

            await Exited.WaitAsync(TimeSpan.FromSeconds(5));
        }
    }

    /// <summary>Child processes (recursively), from /proc on Linux; empty elsewhere.</summary>
    private static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, List<int>>();
        if (!Directory.Exists("/proc"))
        {
            return [];
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // Fields after the command name (which is in parentheses and may hold spaces): state ppid ...
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ppid = int.Parse(fields[1], CultureInfo.InvariantCulture);
                if (!parents.TryGetValue(ppid, out var children))
                {
                    parents[ppid] = children = [];
                }

                children.Add(pid);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // The process ended while reading.
            }
        }

        var result = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.Count > 0)
        {
            foreach (var child in parents.GetValueOrDefault(queue.Dequeue(), []))
            {
                result.Add(child);
                queue.Enqueue(child);
            }
        }

        return result;
    }

    // DllImport rather than LibraryImport: the generated stub would need unsafe code for an (int, int) call.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SendSignal(int pid, int signal);
#pragma warning restore SYSLIB1054

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5));
        _process.Dispose();
    }
}
