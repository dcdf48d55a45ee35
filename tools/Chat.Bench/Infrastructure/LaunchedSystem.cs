using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Chat.Integration.Tests.Infrastructure;
using Chat.Integration.Tests.Reliability;
using Chat.Testing;
using Dapr.DevSidecar.Hosting;

namespace Chat.Bench.Infrastructure;

/// <summary>
/// The whole system started the way <c>./run.sh</c> starts it — the Release dev sidecar's
/// <c>run -f dapr.yaml</c>, which starts every app from its built dll (<c>dotnet bin/Release/…</c>) in its
/// folder — as separate processes in their own process group, so that nothing of the server
/// runs in the bench process. Differences from ./run.sh, all outside the apps: a temporary
/// working folder (a copy of <c>components/</c> and a fresh <c>data/</c>, so the repo's data
/// stays untouched), the apps' ports moved to free ones (a ./run.sh of someone else may hold
/// 5080…), for the redis set a redis-server of its own on a free loopback port, and the
/// environment overrides given (e.g. the gateway's send limit).
/// </summary>
internal sealed partial class LaunchedSystem : IAsyncDisposable
{
    public const string RunFileName = "dapr.yaml";

    private readonly string _folder;
    private readonly Process _run;
    private readonly RedisServer? _redis;

    private LaunchedSystem(string folder, Process run, RedisServer? redis, IReadOnlyDictionary<string, int> ports, IReadOnlyDictionary<string, int> clientPorts)
    {
        _folder = folder;
        _run = run;
        _redis = redis;
        Ports = ports;
        ClientPorts = clientPorts;
    }

    /// <summary>The pid of the dev sidecar process (the group leader of the system's process group).</summary>
    public int SidecarPid => _run.Id;

    /// <summary>Each app's port (the appPort of the run file, moved).</summary>
    public IReadOnlyDictionary<string, int> Ports { get; }

    /// <summary>Ports an app serves clients on besides its app port (the gateway's 5080, moved).</summary>
    public IReadOnlyDictionary<string, int> ClientPorts { get; }

    /// <summary>The gateway's client port: the hub and web client are not served on its app port.</summary>
    public string GatewayUrl => ClientPorts.TryGetValue("gateway", out var port) ? $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}" : Url("gateway");

    public string Url(string appId) => $"http://127.0.0.1:{Ports[appId].ToString(CultureInfo.InvariantCulture)}";

    public string LogFile => Path.Combine(_folder, "run.log");

    /// <summary>redis-server's pid when the bench started one.</summary>
    public int? RedisPid { get; private set; }

    /// <summary>
    /// Starts the system on component set <paramref name="set"/> ("embedded" or "redis") with
    /// extra environment <paramref name="env"/>; returns when every app is up and the gateway answers /healthz.
    /// </summary>
    public static async Task<LaunchedSystem> StartAsync(string set, IReadOnlyDictionary<string, string> env, Action<string> log)
    {
        var root = RepoPaths.Root;
        var sidecarDll = Path.Combine(root, "tools", "Dapr.DevSidecar", "bin", "Release", "net10.0", "dapr-dev-sidecar.dll");
        if (!File.Exists(sidecarDll) || !File.Exists(Path.Combine(root, "services", "Chat.Gateway", "bin", "Release", "net10.0", "Chat.Gateway.dll")))
        {
            throw new InvalidOperationException("The Release build is missing: run `dotnet build Chat.Dapr.sln -c Release` (as ./run.sh does) first.");
        }

        if (!System.IO.Directory.Exists(RepoPaths.Components(set)))
        {
            throw new ArgumentException($"no component set components/{set}");
        }

        var folder = System.IO.Directory.CreateTempSubdirectory("chat-bench-system-").FullName;
        RedisServer? redis = null;
        try
        {
            CopyFolder(Path.Combine(root, "components"), Path.Combine(folder, "components"));
            System.IO.Directory.CreateDirectory(Path.Combine(folder, "data"));
            if (set == "redis")
            {
                redis = await RedisServer.StartAsync();
                foreach (var file in System.IO.Directory.GetFiles(Path.Combine(folder, "components", "redis"), "*.yaml"))
                {
                    await File.WriteAllTextAsync(file, (await File.ReadAllTextAsync(file)).Replace("127.0.0.1:6379", redis.Endpoint, StringComparison.Ordinal));
                }
            }

            var (runFile, ports, clientPorts) = WriteRunFile(root, folder, set);
            log($"starting the system (components/{set}) in {folder}: dotnet {sidecarDll} run -f {runFile}");
            var environment = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["DOTNET_NOLOGO"] = "1",
                ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            };
            foreach (var (k, v) in env)
            {
                environment[k] = v;
            }

            // setsid: the sidecar leads a new process group, which holds the apps too, so one kill of the group ends everything.
            var run = ProcessTools.Start("setsid", ["dotnet", sidecarDll, "run", "-f", runFile], Path.Combine(folder, "run.log"), environment, folder);
            var system = new LaunchedSystem(folder, run, redis, ports, clientPorts);
            redis = null;
            if (system._redis is not null)
            {
                system.RedisPid = ProcessTools.FindChild(Environment.ProcessId, "redis-server");
            }

            try
            {
                await system.WaitReadyAsync(ports.Count, TimeSpan.FromSeconds(180));
            }
            catch
            {
                await system.DisposeAsync();
                throw;
            }

            return system;
        }
        catch
        {
            if (redis is not null)
            {
                await redis.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>
    /// The repo's dapr.yaml with: app folders absolute (the run file lives in the temp folder),
    /// the component set chosen, each appPort (and its ASPNETCORE_URLS) moved to a free port, and
    /// the other ports of an app's ASPNETCORE_URLS (the gateway's client port) too.
    /// </summary>
    internal static (string RunFile, Dictionary<string, int> Ports, Dictionary<string, int> ClientPorts) WriteRunFile(string repoRoot, string folder, string set)
    {
        var yaml = File.ReadAllText(Path.Combine(repoRoot, RunFileName))
            .Replace("appDirPath: ./", $"appDirPath: {repoRoot}/", StringComparison.Ordinal)
            .Replace("- ./components/embedded", $"- ./components/{set}", StringComparison.Ordinal);
        var ports = new Dictionary<string, int>(StringComparer.Ordinal);
        var clientPorts = new Dictionary<string, int>(StringComparer.Ordinal);
        var moved = new Dictionary<string, string>(StringComparer.Ordinal);
        string? appId = null;
        foreach (var line in yaml.Split('\n'))
        {
            if (AppIdLine().Match(line) is { Success: true } id)
            {
                appId = id.Groups[1].Value;
            }
            else if (AppPortLine().Match(line) is { Success: true } port && appId is not null)
            {
                var free = SidecarHost.FreePort();
                ports[appId] = free;
                moved[port.Groups[1].Value] = free.ToString(CultureInfo.InvariantCulture);
            }
            else if (line.Contains("ASPNETCORE_URLS:", StringComparison.Ordinal) && appId is not null)
            {
                foreach (Match url in PortNumber().Matches(line))
                {
                    if (!moved.ContainsKey(url.Value))
                    {
                        var free = SidecarHost.FreePort();
                        clientPorts[appId] = free;
                        moved[url.Value] = free.ToString(CultureInfo.InvariantCulture);
                    }
                }
            }
        }

        yaml = PortNumber().Replace(yaml, m => moved.GetValueOrDefault(m.Value, m.Value));
        var runFile = Path.Combine(folder, RunFileName);
        File.WriteAllText(runFile, yaml);
        return (runFile, ports, clientPorts);
    }

    private async Task WaitReadyAsync(int apps, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var ready = $"All {apps.ToString(CultureInfo.InvariantCulture)} apps are started";
        while (true)
        {
            if (_run.HasExited)
            {
                throw new InvalidOperationException($"the system exited while starting (code {_run.ExitCode}); {LogFile}:\n{LogTail()}");
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"the system did not start within {timeout.TotalSeconds} s; {LogFile}:\n{LogTail()}");
            }

            if (LogTail(int.MaxValue).Contains(ready, StringComparison.Ordinal) && await HealthyAsync(http, GatewayUrl + "/healthz"))
            {
                return;
            }

            await Task.Delay(250);
        }
    }

    private static async Task<bool> HealthyAsync(HttpClient http, string url)
    {
        try
        {
            return (await http.GetAsync(url)).IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    public string LogTail(int lines = 30)
    {
        try
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static void CopyFolder(string from, string to)
    {
        System.IO.Directory.CreateDirectory(to);
        foreach (var file in System.IO.Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in System.IO.Directory.GetDirectories(from))
        {
            CopyFolder(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }

    /// <summary>SIGTERM to the sidecar (it stops the apps, then itself), then SIGKILL to whatever of the group is left; redis; the temp folder.</summary>
    public async ValueTask DisposeAsync()
    {
        var group = _run.Id;
        await ProcessTools.StopAsync(_run, TimeSpan.FromSeconds(20));
        ProcessTools.Signal(-group, 9);
        _run.Dispose();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        try
        {
            // Keep the log of the last run for a look afterwards.
            File.Copy(LogFile, Path.Combine(Path.GetTempPath(), "chat-bench-system.log"), overwrite: true);
            System.IO.Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"^\s*-\s*appID:\s*(\S+)\s*$")]
    private static partial Regex AppIdLine();

    [GeneratedRegex(@"^\s*appPort:\s*(\d+)\s*$")]
    private static partial Regex AppPortLine();

    [GeneratedRegex(@"(?<![\d.])\d{4,5}(?!\d)")]
    private static partial Regex PortNumber();
}
