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
public sealed class AppProcesses : IChatBackends, IAsyncDisposable
{
    private static readonly string Configuration =
        typeof(AppProcesses).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    private readonly List<ProcessApp> _instances = [];
    private readonly List<RunningSidecar> _sidecars = [];
    private Grpc.Net.Client.GrpcChannel? _clientChannel;

    private AppProcesses(string folder, RedisServer redis)
    {
        Folder = folder;
        Redis = redis;
        ResourcesPath = Path.Combine(folder, "components");
        RegistryFolder = Path.Combine(folder, "registry");
        LogFolder = Path.Combine(folder, "logs");
        System.IO.Directory.CreateDirectory(ResourcesPath);
        System.IO.Directory.CreateDirectory(LogFolder);
        PlacementFolder = Path.Combine(folder, "placement");
        // Name resolution and actor placement are shared with the sidecar processes of this run.
        Runtime = new ComponentRuntime(NullLoggerFactory.Instance, TimeProvider.System) { Apps = new AppRegistry(RegistryFolder), PlacementFolder = PlacementFolder };
    }

    public string Folder { get; }

    /// <summary>A short id of this run (names gateway instances).</summary>
    public string RunId { get; } = Guid.NewGuid().ToString("N")[..6];

    public RedisServer Redis { get; }

    public string ResourcesPath { get; }

    /// <summary>The name-resolution folder shared with sidecar processes of this run.</summary>
    public string RegistryFolder { get; }

    /// <summary>The actor placement folder shared with sidecar processes of this run.</summary>
    public string PlacementFolder { get; }

    public string LogFolder { get; }

    public ComponentRuntime Runtime { get; }

    /// <summary>The sidecar tests call backends through (app-id <c>test-client</c>).</summary>
    public RunningSidecar ClientSidecar { get; private set; } = null!;

    /// <summary>The DAPR_API_TOKEN of <see cref="ClientSidecar"/>.</summary>
    public string ClientApiToken { get; } = SidecarTokens.New();

    public IReadOnlyList<ProcessApp> Instances => _instances;

    /// <summary>One channel to the client sidecar for every test call (HTTP/2 multiplexes them).</summary>
    private Grpc.Net.Client.GrpcChannel ClientChannel => _clientChannel ??= Grpc.Net.Client.GrpcChannel.ForAddress(ClientSidecar.GrpcEndpoint);

    /// <summary>Gateway base URLs whose process is running now.</summary>
    public IReadOnlyList<string> LiveGatewayUrls =>
        _instances.Where(i => i.AppId == DaprNames.Apps.Gateway && i.IsRunning).Select(i => i.Url).ToList();

    public ProcessApp InstanceOf(string appId, int index = 0) => _instances.Where(i => i.AppId == appId).ElementAt(index);

    /// <summary>
    /// Starts redis-server (AOF on), then directory, presence, router, messaging, delivery and
    /// <paramref name="gateways"/> gateway instances, each app as its own process.
    /// <paramref name="ownSidecarProcess"/> names apps whose sidecar runs as a separate process.
    /// </summary>
    public static Task<AppProcesses> StartAsync(int gateways = 2, params string[] ownSidecarProcess) =>
        StartAsync([DaprNames.Apps.Directory, DaprNames.Apps.Presence, DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Delivery,
            .. Enumerable.Repeat(DaprNames.Apps.Gateway, gateways)], ownSidecarProcess);

    /// <summary>The apps that scale out (router, messaging, delivery, gateway) in <paramref name="instances"/> instances each, as dapr.scale.yaml runs them.</summary>
    public static Task<AppProcesses> StartScaledAsync(int instances, params string[] ownSidecarProcess) =>
        StartAsync([DaprNames.Apps.Directory, DaprNames.Apps.Presence,
            .. new[] { DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Delivery, DaprNames.Apps.Gateway }.SelectMany(a => Enumerable.Repeat(a, instances))],
            ownSidecarProcess);

    /// <summary>Every app of the system: with <see cref="StartScaledAsync"/>, each instance gets its own sidecar process.</summary>
    public static readonly string[] AllApps =
        [DaprNames.Apps.Directory, DaprNames.Apps.Presence, DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Delivery, DaprNames.Apps.Gateway];

    private static async Task<AppProcesses> StartAsync(string[] apps, string[] ownSidecarProcess)
    {
        var redis = await RedisServer.StartAsync();
        var system = new AppProcesses(System.IO.Directory.CreateTempSubdirectory("chat-rel-").FullName, redis);
        try
        {
            // The product's pub/sub timeouts (components/redis/chat-pubsub.yaml): a delivery has 15 s.
            ComponentFiles.Write(system.ResourcesPath, ComponentSet.Redis, redis.Endpoint, processingTimeout: "15s", redeliverInterval: "5s");
            system.ClientSidecar = await SidecarHost.StartAsync(new SidecarOptions { AppId = "test-client", ResourcesPaths = [system.ResourcesPath], ApiToken = system.ClientApiToken }, system.Runtime);
            system._sidecars.Add(system.ClientSidecar);
            var created = new List<ProcessApp>();
            foreach (var appId in apps)
            {
                created.Add(await system.CreateAsync(appId, ownSidecarProcess.Contains(appId)));
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
        var clientPort = appId == DaprNames.Apps.Gateway ? SidecarHost.FreePort() : appPort;
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
            var sidecar = await SidecarHost.StartAsync(new SidecarOptions
            {
                AppId = appId,
                AppPort = appPort,
                AppProtocol = grpc ? "grpc" : "http",
                ResourcesPaths = [ResourcesPath],
                ApiToken = tokens.DaprApiToken,
                AppApiToken = tokens.AppApiToken,
            }, Runtime);
            _sidecars.Add(sidecar);
            app = new ProcessApp(appId, index, appPort, clientPort, grpc, sidecar.HttpPort, sidecar.GrpcPort, tokens, this);
        }

        _instances.Add(app);
        return app;
    }

    /// <summary>A gRPC call invoker that reaches <paramref name="appId"/> through the client sidecar.</summary>
    public Grpc.Core.CallInvoker InvokerFor(string appId, string? accessToken = null) =>
        Grpc.Core.Interceptors.CallInvokerExtensions.Intercept(
            ClientChannel.CreateCallInvoker(),
            metadata =>
            {
                metadata.Add("dapr-app-id", appId);
                metadata.Add(SidecarTokens.Header, ClientApiToken);
                if (accessToken is not null)
                {
                    metadata.Add("authorization", "Bearer " + accessToken);
                }

                return metadata;
            });

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

    public async ValueTask DisposeAsync()
    {
        _clientChannel?.Dispose();
        foreach (var app in _instances)
        {
            app.Kill();
            app.SidecarProcess?.Kill();
        }

        foreach (var s in Enumerable.Reverse(_sidecars))
        {
            await s.DisposeAsync();
        }

        await Runtime.DisposeAsync();
        await Redis.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
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
            WorkingDirectory = Folder,
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
            ["Chat__Auth__SigningKey"] = ChatSystem.JwtKey,
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
