using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Chat.Integration.Tests.Infrastructure;
using Chat.ServiceDefaults.Auth;
using Dapr.DevSidecar.Hosting;

namespace Chat.Bench.Infrastructure;

/// <summary>Where the build outputs are (the bench's own configuration: Release or Debug).</summary>
internal static class BuildOutputs
{
    public static string Configuration { get; } = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string Dll(string projectDir, string assembly) =>
        Path.Combine(RepoPaths.Root, projectDir, "bin", Configuration, "net10.0", assembly + ".dll");

    /// <summary>The dev signing key of the embedded component set (components/embedded/secrets.json), which ./run.sh uses.</summary>
    public static ChatTokenService DevTokens()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Components("embedded"), "secrets.json")));
        return new ChatTokenService(ChatSigningKeys.Parse(doc.RootElement.GetProperty("jwt-signing-key").GetString()!));
    }
}

/// <summary>
/// The gateway, the router and presence (which the gateway reports connections to) as separate processes, each with its dev sidecar, started by
/// the dev sidecar's multi-app run (<c>dapr-dev-sidecar run -f</c>) on a copy of the embedded
/// component set: so the gateway's RSS is its own.
/// </summary>
internal sealed class SystemProcess : IAsyncDisposable
{
    private readonly RunFolder _folder;
    private readonly Process _run;

    private SystemProcess(RunFolder folder, Process run, string gatewayUrl, int gatewayPid)
    {
        _folder = folder;
        _run = run;
        GatewayUrl = gatewayUrl;
        GatewayPid = gatewayPid;
    }

    public string GatewayUrl { get; }

    public int GatewayPid { get; }

    public static async Task<SystemProcess> StartAsync(string? sqliteSynchronous = null)
    {
        var routerPort = SidecarHost.FreePort();
        var gatewayPort = SidecarHost.FreePort();
        var presencePort = SidecarHost.FreePort();
        // The gateway's clients use a port of their own; its sidecar calls the app port (dapr.yaml: 5080 and 5090).
        var gatewayClientPort = SidecarHost.FreePort();
        var folder = RunFolder.Create(ComponentSet.Embedded, redisEndpoint: null, gatewayOrigin: $"http://127.0.0.1:{gatewayClientPort.ToString(CultureInfo.InvariantCulture)}/", prefix: "chat-bench-");
        if (sqliteSynchronous is not null)
        {
            SqliteFiles.SetSynchronous(folder.ComponentsPath, sqliteSynchronous);
        }
        string App(string id, string project, string assembly, int port, bool grpc = false, int? clientPort = null) => $$"""
              - appID: {{id}}
                appDirPath: {{folder.Root}}
                appPort: {{port}}
                appProtocol: {{(grpc ? "grpc" : "http\n    appHealthCheckPath: /healthz")}}
                command: ["dotnet", "{{BuildOutputs.Dll(project, assembly)}}"]
                env:
                  ASPNETCORE_URLS: http://127.0.0.1:{{port}}{{(clientPort is { } c ? $";http://127.0.0.1:{c}" : "")}}
                  Kestrel__EndpointDefaults__Protocols: {{(grpc ? "Http2" : "Http1AndHttp2")}}
            """;
        var runFile = Path.Combine(folder.Root, "bench-run.yaml");
        await File.WriteAllTextAsync(runFile, $$"""
            version: 1
            common:
              resourcesPaths:
                - {{folder.ComponentsPath}}
              env:
                DOTNET_ENVIRONMENT: Development
                Logging__LogLevel__Default: Warning
                Logging__LogLevel__Chat: Information
            apps:
            {{App("router", "services/Chat.Router", "Chat.Router", routerPort)}}
            {{App("presence", "services/Chat.Presence", "Chat.Presence", presencePort, grpc: true)}}
            {{App("gateway", "services/Chat.Gateway", "Chat.Gateway", gatewayPort, clientPort: gatewayClientPort)}}
            """);
        var run = ProcessTools.Start("dotnet", [BuildOutputs.Dll("tools/Dapr.DevSidecar", "dapr-dev-sidecar"), "run", "-f", runFile],
            Path.Combine(folder.Root, "run.log"), workingDirectory: folder.Root);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var deadline = Stopwatch.GetTimestamp() + 120 * Stopwatch.Frequency;
            foreach (var port in new[] { routerPort, gatewayPort })
            {
                while (!await HealthyAsync(http, port))
                {
                    if (run.HasExited || Stopwatch.GetTimestamp() > deadline)
                    {
                        throw new InvalidOperationException($"the system did not start; see {Path.Combine(folder.Root, "run.log")}:\n{ReadLog(folder.Root)}");
                    }

                    await Task.Delay(200);
                }
            }

            var pid = ProcessTools.FindChild(run.Id, "Chat.Gateway.dll") ?? throw new InvalidOperationException("gateway process not found");
            return new SystemProcess(folder, run, $"http://127.0.0.1:{gatewayClientPort.ToString(CultureInfo.InvariantCulture)}", pid);
        }
        catch
        {
            await ProcessTools.StopAsync(run, TimeSpan.FromSeconds(10));
            throw;
        }
    }

    private static string ReadLog(string folder)
    {
        try
        {
            return string.Join('\n', File.ReadLines(Path.Combine(folder, "run.log")).TakeLast(30));
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static async Task<bool> HealthyAsync(HttpClient http, int port)
    {
        try
        {
            return (await http.GetAsync($"http://127.0.0.1:{port}/healthz")).IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessTools.StopAsync(_run, TimeSpan.FromSeconds(15));
        _run.Dispose();
        // Keep the apps' log of the last run for a look afterwards.
        File.Copy(Path.Combine(_folder.Root, "run.log"), Path.Combine(Path.GetTempPath(), "chat-bench-run.log"), overwrite: true);
        _folder.Delete();
    }
}

/// <summary>The baselines server as a child process (this tool's <c>serve-baselines</c>), so its RSS is its own.</summary>
internal sealed class BaselineProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _log;

    private BaselineProcess(Process process, string url, string log)
    {
        _process = process;
        Url = url;
        _log = log;
    }

    public string Url { get; }

    public int Pid => _process.Id;

    public static async Task<BaselineProcess> StartAsync()
    {
        var port = SidecarHost.FreePort();
        var log = Path.Combine(Path.GetTempPath(), $"chat-bench-baselines-{port.ToString(CultureInfo.InvariantCulture)}.log");
        var process = ProcessTools.Start("dotnet", [BuildOutputs.Dll("tools/Chat.Bench", "chat-bench"), "serve-baselines", "--port", port.ToString(CultureInfo.InvariantCulture)], log);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;
        while (true)
        {
            try
            {
                // The echo endpoint answers 400 to a plain GET: the server is up.
                await http.GetAsync($"http://127.0.0.1:{port}{BaselineServer.EchoPath}");
                return new BaselineProcess(process, $"http://127.0.0.1:{port}", log);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                if (process.HasExited || Stopwatch.GetTimestamp() > deadline)
                {
                    throw new InvalidOperationException($"the baselines process did not start; see {log}");
                }

                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        var crashed = _process.HasExited;
        if (!crashed)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        if (!crashed)
        {
            // A process that ended by itself keeps its log for a look.
            File.Delete(_log);
        }
    }
}
