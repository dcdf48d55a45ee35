using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using System.Net.Sockets;
using System.Reflection;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chat.Integration.Tests.Reliability;

/// <summary>
/// The chat apps as separate OS processes (their built dlls, <c>dotnet services/X/bin/…/X.dll</c>)
/// with the environment the dev sidecar's app launcher gives them, each behind a dev sidecar.
/// Sidecars live in this test process (actor placement spans the sidecars of one process), except
/// those started with <see cref="StartAppAsync"/>'s <c>ownSidecarProcess</c>: those run as their
/// own <c>dapr-dev-sidecar sidecar</c> process and are found through a registry folder of this run.
/// An app or a sidecar process can be killed with SIGKILL and started again on the same ports.
/// </summary>
public sealed class AppProcesses : ChatRun
{
    private static readonly string Configuration =
        typeof(AppProcesses).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    private readonly List<ProcessApp> _instances = [];
    private readonly int _firstGatewayClientPort;

    private AppProcesses(RunFolder folder, RedisServer redis, int firstGatewayClientPort)
        : base(folder, NewRuntime(folder), redis)
    {
        _firstGatewayClientPort = firstGatewayClientPort;
        System.IO.Directory.CreateDirectory(LogFolder);
    }

    /// <summary>A short id of this run (names gateway instances).</summary>
    public string RunId { get; } = Guid.NewGuid().ToString("N")[..6];

    /// <summary>The run's redis-server (AOF on: it can be killed and started again with its data).</summary>
    public new RedisServer Redis => base.Redis!;

    /// <summary>The name-resolution folder shared with sidecar processes of this run.</summary>
    public string RegistryFolder => RegistryFolderOf(Folder);

    /// <summary>The actor placement folder shared with sidecar processes of this run.</summary>
    public string PlacementFolder => PlacementFolderOf(Folder);

    public string LogFolder => Path.Combine(Folder.Root, "logs");

    public IReadOnlyList<ProcessApp> Instances => _instances;

    /// <summary>Gateway base URLs whose process is running now.</summary>
    public IReadOnlyList<string> LiveGatewayUrls =>
        _instances.Where(i => i.AppId == DaprNames.Apps.Gateway && i.IsRunning).Select(i => i.Url).ToList();

    public ProcessApp InstanceOf(string appId, int index = 0) => _instances.Where(i => i.AppId == appId).ElementAt(index);

    private static string RegistryFolderOf(RunFolder folder) => Path.Combine(folder.Root, "registry");

    private static string PlacementFolderOf(RunFolder folder) => Path.Combine(folder.Root, "placement");

    // Name resolution and actor placement are shared with the sidecar processes of this run.
    private static ComponentRuntime NewRuntime(RunFolder folder) =>
        new(NullLoggerFactory.Instance, TimeProvider.System) { Apps = new AppRegistry(RegistryFolderOf(folder)), PlacementFolder = PlacementFolderOf(folder) };

    /// <summary>
    /// Starts redis-server (AOF on), then directory, presence, router, messaging, delivery and
    /// <paramref name="gateways"/> gateway instances, each app as its own process.
    /// <paramref name="ownSidecarProcess"/> names apps whose sidecar runs as a separate process.
    /// </summary>
    public static Task<AppProcesses> StartAsync(int gateways = 2, params string[] ownSidecarProcess) =>
        ChatHarness.ProcessesAsync(new() { Components = ComponentSet.Redis, Gateways = gateways, OwnSidecarProcess = ownSidecarProcess });

    /// <summary>The apps that scale out (router, messaging, delivery, gateway) in <paramref name="instances"/> instances each, as dapr.scale.yaml runs them.</summary>
    public static Task<AppProcesses> StartScaledAsync(int instances, params string[] ownSidecarProcess) =>
        ChatHarness.ProcessesAsync(new() { Components = ComponentSet.Redis, Instances = instances, OwnSidecarProcess = ownSidecarProcess });

    /// <summary>Every app of the system: with <see cref="StartScaledAsync"/>, each instance gets its own sidecar process.</summary>
    public static readonly string[] AllApps = ChatHarnessOptions.AllApps;

    /// <summary>Starts the run (use <see cref="ChatHarness"/>).</summary>
    internal static async Task<AppProcesses> StartAsync(ChatHarnessOptions options)
    {
        if (options.Components != ComponentSet.Redis || options.Redis is not null || options.ComponentsOf is not null)
        {
            throw new ArgumentException("App processes run on components/redis with a redis-server of their own (in-memory pub/sub does not reach across processes).", nameof(options));
        }

        var (redisEndpoint, redis) = await RedisForAsync(options, persistent: true);
        var gatewayPort = SidecarHost.FreePort();
        AppProcesses system;
        try
        {
            system = new AppProcesses(
                RunFolder.Create(options.Components, redisEndpoint, $"http://127.0.0.1:{gatewayPort}", options.Secrets, options.AllComponentChanges(), "chat-rel-"),
                redis!, gatewayPort);
        }
        catch
        {
            await redis!.DisposeAsync();
            throw;
        }

        try
        {
            await system.StartClientSidecarAsync();
            var created = new List<ProcessApp>();
            foreach (var appId in options.StartList())
            {
                created.Add(await system.CreateAsync(appId, options.OwnSidecarProcess.Contains(appId)));
            }

            // The processes start in parallel: a .NET app takes a few seconds on a busy machine.
            await Task.WhenAll(created.Select(a => a.SidecarProcess?.StartAsync() ?? Task.CompletedTask));
            await Task.WhenAll(created.Select(a => a.StartAsync()));
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    private async Task<ProcessApp> CreateAsync(string appId, bool ownSidecarProcess)
    {
        var grpc = appId is DaprNames.Apps.Directory or DaprNames.Apps.Messaging or DaprNames.Apps.Presence;
        var appPort = SidecarHost.FreePort();
        // As in dapr.yaml: the gateway's clients use a port of their own.
        var clientPort = appId != DaprNames.Apps.Gateway ? appPort
            : _instances.Any(i => i.AppId == DaprNames.Apps.Gateway) ? SidecarHost.FreePort() : _firstGatewayClientPort;
        var index = _instances.Count(i => i.AppId == appId);
        // Token authentication on both ways, as the dev sidecar's run turns it on.
        var tokens = new SidecarTokens();
        ProcessApp app;
        if (ownSidecarProcess)
        {
            var sidecar = new SidecarProcess(appId, appPort, grpc ? "grpc" : "http", SidecarHost.FreePort(), SidecarHost.FreePort(), tokens, this)
            {
                Name = $"{appId}-{index}-sidecar",
            };
            app = new ProcessApp(appId, index, appPort, clientPort, grpc, sidecar.HttpPort, sidecar.GrpcPort, tokens, this) { SidecarProcess = sidecar };
        }
        else
        {
            var sidecar = await StartSidecarAsync(appId, appPort, grpc ? "grpc" : "http", tokens.DaprApiToken, tokens.AppApiToken);
            app = new ProcessApp(appId, index, appPort, clientPort, grpc, sidecar.HttpPort, sidecar.GrpcPort, tokens, this);
        }

        _instances.Add(app);
        return app;
    }

    /// <summary>The last lines of every app's log (for failure messages).</summary>
    public string LogTails(int lines = 15)
    {
        var text = new System.Text.StringBuilder();
        foreach (var file in System.IO.Directory.EnumerateFiles(LogFolder).Order(StringComparer.Ordinal))
        {
            string[] all;
            try
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                all = reader.ReadToEnd().Split('\n');
            }
            catch (IOException)
            {
                continue;
            }

            text.AppendLine(CultureInfo.InvariantCulture, $"--- {Path.GetFileName(file)} ---");
            foreach (var line in all.TakeLast(lines))
            {
                text.AppendLine(line);
            }
        }

        return text.ToString();
    }

    private protected override ValueTask StopAppsAsync()
    {
        foreach (var app in _instances)
        {
            app.Kill();
            app.SidecarProcess?.Kill();
        }

        return ValueTask.CompletedTask;
    }

    internal static string Output(string project, string dll) =>
        Path.Combine(RepoPaths.Root, project, "bin", Configuration, "net10.0", dll);

    internal static string ServiceDll(string appId) => appId switch
    {
        DaprNames.Apps.Directory => Output("services/Chat.Directory", "Chat.Directory.dll"),
        DaprNames.Apps.Router => Output("services/Chat.Router", "Chat.Router.dll"),
        DaprNames.Apps.Presence => Output("services/Chat.Presence", "Chat.Presence.dll"),
        DaprNames.Apps.Messaging => Output("services/Chat.Messaging", "Chat.Messaging.dll"),
        DaprNames.Apps.Delivery => Output("services/Chat.Delivery", "Chat.Delivery.dll"),
        DaprNames.Apps.Gateway => Output("services/Chat.Gateway", "Chat.Gateway.dll"),
        _ => throw new ArgumentException($"No built app for '{appId}'.", nameof(appId)),
    };

    /// <summary>Starts a process whose output goes to a log file of this run; returns it running.</summary>
    internal Process StartLogged(string name, string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string> env)
    {
        var start = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Folder.Root,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env)
        {
            start.Environment[k] = v;
        }

        var log = new StreamWriter(new FileStream(Path.Combine(LogFolder, name + ".log"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete)) { AutoFlush = true };
        var echo = Environment.GetEnvironmentVariable("CHAT_TEST_LOGS") == "1";
        var gate = new Lock();
        void Write(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (gate)
            {
                try
                {
                    log.WriteLine(line);
                }
                catch (ObjectDisposedException)
                {
                }
            }

            if (echo)
            {
                Console.WriteLine($"== {name} == {line}");
            }
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.Exited += (_, _) =>
        {
            process.WaitForExit();
            lock (gate)
            {
                log.Dispose();
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Waits until an app listens: TCP for gRPC apps, <c>GET /healthz</c> below 500 for HTTP apps.</summary>
    internal static async Task WaitListeningAsync(string what, int port, bool tcpOnly, Process process, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{what} exited with code {process.ExitCode} before listening on port {port}.");
            }

            try
            {
                if (tcpOnly)
                {
                    using var tcp = new TcpClient();
                    await tcp.ConnectAsync("127.0.0.1", port);
                    return;
                }

                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
                if ((int)response.StatusCode < 500)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or SocketException or TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not listen on port {port} within {timeout}.");
            }

            await Task.Delay(100);
        }
    }
}

/// <summary>One app instance as an OS process, restartable on the same port with the same environment.</summary>
public sealed class ProcessApp(string appId, int index, int port, int clientPort, bool grpc, int daprHttpPort, int daprGrpcPort, SidecarTokens tokens, AppProcesses owner)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private Process? _process;
    private int _starts;

    public string AppId { get; } = appId;

    public int Port { get; } = port;

    /// <summary>The client port (the gateway's hub), else the app port.</summary>
    public string Url => $"http://127.0.0.1:{clientPort}";

    public string Name => $"{AppId}-{index}";

    /// <summary>The gateway's instance id: stable across restarts, as a pod name is.</summary>
    public string GatewayInstanceId => $"gateway-{index}-{owner.RunId}";

    /// <summary>Set when this app's sidecar runs as its own process.</summary>
    public SidecarProcess? SidecarProcess { get; init; }

    public bool IsRunning => _process is { HasExited: false };

    public int Pid => _process?.Id ?? 0;

    /// <summary>Starts the process (again) and waits until it listens.</summary>
    public async Task StartAsync()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            // What the dev sidecar's app launcher (and the Dapr CLI) set.
            ["APP_ID"] = AppId,
            ["APP_PORT"] = Port.ToString(CultureInfo.InvariantCulture),
            ["APP_PROTOCOL"] = grpc ? "grpc" : "http",
            ["DAPR_HTTP_PORT"] = daprHttpPort.ToString(CultureInfo.InvariantCulture),
            ["DAPR_GRPC_PORT"] = daprGrpcPort.ToString(CultureInfo.InvariantCulture),
            ["DAPR_HTTP_ENDPOINT"] = $"http://127.0.0.1:{daprHttpPort}",
            ["DAPR_GRPC_ENDPOINT"] = $"http://127.0.0.1:{daprGrpcPort}",
            ["DAPR_API_TOKEN"] = tokens.DaprApiToken,
            ["APP_API_TOKEN"] = tokens.AppApiToken,
            // What dapr.yaml gives each app.
            ["ASPNETCORE_URLS"] = clientPort == Port ? Url : $"http://127.0.0.1:{Port};{Url}",
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Logging__LogLevel__Default"] = Environment.GetEnvironmentVariable("CHAT_TEST_APP_LOGLEVEL") ?? "Warning",
            ["Logging__Console__FormatterName"] = "simple",
            ["Gateway__RateLimits__Send__Burst"] = "30",
            // Many cold .NET processes starting at once on a small, shared machine: the router's first
            // state call (its Snowflake worker-id lease) can take longer than the 15 s default.
            ["Chat__WorkerIdLease__StartupWait"] = "00:01:30",
        };
        if (grpc)
        {
            env["Kestrel__EndpointDefaults__Protocols"] = "Http2";
        }

        if (AppId == DaprNames.Apps.Gateway)
        {
            env["Gateway__InstanceId"] = GatewayInstanceId;
        }

        var run = Interlocked.Increment(ref _starts);
        _process = owner.StartLogged($"{Name}", "dotnet", [AppProcesses.ServiceDll(AppId)], env);
        await AppProcesses.WaitListeningAsync($"{Name} (start {run})", Port, grpc, _process, StartTimeout);
    }

    /// <summary>kill -9.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
    }
}

/// <summary>A dev sidecar running as its own process (<c>dapr-dev-sidecar sidecar …</c>) on fixed ports.</summary>
public sealed class SidecarProcess(string appId, int appPort, string appProtocol, int httpPort, int grpcPort, SidecarTokens tokens, AppProcesses owner)
{
    private Process? _process;

    /// <summary>The name of its log file.</summary>
    public string Name { get; init; } = $"{appId}-sidecar";

    public int HttpPort { get; } = httpPort;

    public int GrpcPort { get; } = grpcPort;

    public bool IsRunning => _process is { HasExited: false };

    public async Task StartAsync()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DAPR_DEV_SIDECAR_REGISTRY"] = owner.RegistryFolder,
            ["DAPR_DEV_SIDECAR_PLACEMENT"] = owner.PlacementFolder,
            ["DAPR_API_TOKEN"] = tokens.DaprApiToken,
            ["APP_API_TOKEN"] = tokens.AppApiToken,
        };
        _process = owner.StartLogged(Name, "dotnet",
        [
            AppProcesses.Output("tools/Dapr.DevSidecar", "dapr-dev-sidecar.dll"), "sidecar",
            "--app-id", appId, "--app-port", appPort.ToString(CultureInfo.InvariantCulture), "--app-protocol", appProtocol,
            "--dapr-http-port", HttpPort.ToString(CultureInfo.InvariantCulture), "--dapr-grpc-port", GrpcPort.ToString(CultureInfo.InvariantCulture),
            "--resources-path", owner.ResourcesPath,
        ], env);
        await AppProcesses.WaitListeningAsync($"{appId}'s sidecar", GrpcPort, tcpOnly: true, _process, TimeSpan.FromSeconds(60));
        await AppProcesses.WaitListeningAsync($"{appId}'s sidecar", HttpPort, tcpOnly: true, _process, TimeSpan.FromSeconds(30));
    }

    /// <summary>kill -9.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
    }
}
