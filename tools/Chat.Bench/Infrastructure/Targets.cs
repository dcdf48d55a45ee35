using System.Net;
using System.Net.Http.Json;
using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Bench.Infrastructure;

/// <summary>The chat system under test: its gateway, and a way to make users as a client would.</summary>
public interface IChatTarget : IAsyncDisposable
{
    string Name { get; }

    string GatewayUrl { get; }

    string HubUrl => GatewayUrl.TrimEnd('/') + Chat.Gateway.GatewayServices.HubPath;

    /// <summary>The in-process system, when the bench started it (the per-hop scenarios need it).</summary>
    ChatSystem? System { get; }

    /// <summary>Registers a user (directory Register) and returns it with its access token.</summary>
    Task<TestUser> RegisterAsync();
}

/// <summary>The whole system started in this process (ChatSystem of the integration tests: embedded components).</summary>
public sealed class InProcessTarget : IChatTarget
{
    private static readonly string[] AllApps =
        [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Delivery, DaprNames.Apps.Presence, DaprNames.Apps.Gateway];

    private InProcessTarget(ChatSystem system) => System = system;

    public string Name => "in-process (embedded components: SQLite state, in-memory pub/sub)";

    public ChatSystem System { get; }

    public string GatewayUrl => System.GatewayUrl;

    public static async Task<InProcessTarget> StartAsync(string? sqliteSynchronous = null)
    {
        if (sqliteSynchronous is not null)
        {
            throw new ArgumentException("--sqlite-synchronous needs the system in processes of its own (--start-system, or the idle scenario): the in-process system runs on the repo's components as they are");
        }

        // The bench sends faster than a person: lift the per-user send limit.
        var options = new ChatHarnessOptions
        {
            Apps = AllApps,
            Settings = new Dictionary<string, string?>
            {
                ["Gateway:RateLimits:Send:Burst"] = "1000000",
                ["Gateway:RateLimits:Send:PerSecond"] = "1000000",
                ["Gateway:RateLimits:Receipt:Burst"] = "1000000",
                ["Gateway:RateLimits:Receipt:PerSecond"] = "1000000",
            },
        };
        return new InProcessTarget(await ChatHarness.InProcessAsync(options));
    }

    public Task<TestUser> RegisterAsync() => System.RegisterAsync();

    public ValueTask DisposeAsync() => System.DisposeAsync();
}

/// <summary>
/// Rewrites the state.sqlite components of a folder to open their files with <c>_pragma=synchronous(mode)</c>
/// (replacing the component's own choice, e.g. the embedded set's <c>normal</c>), to measure what the per-commit fsync costs.
/// </summary>
internal static partial class SqliteFiles
{
    public static void SetSynchronous(string componentsFolder, string mode)
    {
        foreach (var file in System.IO.Directory.GetFiles(componentsFolder, "*.yaml"))
        {
            var yaml = File.ReadAllText(file);
            if (!yaml.Contains("state.sqlite", StringComparison.Ordinal))
            {
                continue;
            }

            File.WriteAllText(file, ConnectionString().Replace(yaml, m =>
            {
                var value = m.Groups["path"].Value;
                value = value.StartsWith("file:", StringComparison.Ordinal) ? value[5..] : value;
                var q = value.IndexOf('?', StringComparison.Ordinal);
                var options = q < 0 ? [] : value[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries)
                    .Where(o => !o.StartsWith("_pragma=synchronous(", StringComparison.OrdinalIgnoreCase));
                var path = q < 0 ? value : value[..q];
                return $"{m.Groups["head"].Value}\"file:{path}?{string.Join('&', options.Append($"_pragma=synchronous({mode})"))}\"";
            }));
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<head>- name: connectionString\s*\n\s*value: )""(?<path>[^""]*)""")]
    private static partial System.Text.RegularExpressions.Regex ConnectionString();
}

/// <summary>
/// A system started elsewhere (./run.sh): the gateway at its URL; users registered through the
/// gateway's JSON auth API, as the web client does (the apps' own ports take only their sidecar).
/// The gRPC clients of a user point at the directory and messaging ports, which answer only
/// when that run sets APP_API_TOKEN to "" (the scenarios use the hub).
/// </summary>
public sealed class ExternalTarget(string gatewayUrl, string directoryUrl, string messagingUrl) : IChatTarget
{
    private readonly GrpcChannel _directory = GrpcChannel.ForAddress(directoryUrl);
    private readonly GrpcChannel _messaging = GrpcChannel.ForAddress(messagingUrl);
    private readonly HttpClient _http = new() { BaseAddress = new Uri(gatewayUrl), Timeout = TimeSpan.FromSeconds(30) };
    private int _counter;

    public string Name => $"external gateway {gatewayUrl}";

    public string GatewayUrl => gatewayUrl;

    public ChatSystem? System => null;

    public async Task<TestUser> RegisterAsync()
    {
        string name;
        HttpResponseMessage response;
        // Names are random per run; a system that earlier runs filled with thousands of bench users
        // can already hold one (409): take another name rather than fail the scenario.
        for (var attempt = 1; ; attempt++)
        {
            name = $"bench{Interlocked.Increment(ref _counter)}x{Random.Shared.Next(1_000_000)}";
            response = await _http.PostAsJsonAsync("/api/auth/register", new { userName = name, password = "correct horse battery", deviceId = "dev1" });
            if (response.StatusCode != HttpStatusCode.Conflict || attempt == 5)
            {
                break;
            }

            response.Dispose();
        }

        using var _ = response;
        response.EnsureSuccessStatusCode();
        var registered = await response.Content.ReadFromJsonAsync<Registered>() ?? throw new InvalidOperationException("empty register answer");
        return new TestUser(registered.UserId, name, registered.AccessToken,
            new MessagingService.MessagingServiceClient(WithToken(_messaging, registered.AccessToken)),
            new DirectoryService.DirectoryServiceClient(WithToken(_directory, registered.AccessToken)));
    }

    private sealed record Registered(string UserId, string AccessToken);

    private static CallInvoker WithToken(GrpcChannel channel, string token) =>
        channel.Intercept(m =>
        {
            m.Add("authorization", "Bearer " + token);
            return m;
        });

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        _directory.Dispose();
        _messaging.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// The system started by the bench as separate processes, as ./run.sh starts it (<see cref="LaunchedSystem"/>);
/// users registered through the gateway's auth API, as with <see cref="ExternalTarget"/>.
/// </summary>
internal sealed class LaunchedTarget : IChatTarget
{
    private readonly LaunchedSystem _system;
    private readonly ExternalTarget _client;

    private LaunchedTarget(LaunchedSystem system, string set)
    {
        _system = system;
        Set = set;
        _client = new ExternalTarget(system.GatewayUrl, system.Url(DaprNames.Apps.Directory), system.Url(DaprNames.Apps.Messaging));
    }

    public string Set { get; }

    public string Name => $"./run.sh's system started by the bench (components/{Set}, separate processes)";

    public string GatewayUrl => _system.GatewayUrl;

    public ChatSystem? System => null;

    public LaunchedSystem Launched => _system;

    /// <summary>Starts the system and checks that a new user can connect to the hub and call it.</summary>
    public static async Task<LaunchedTarget> StartAsync(string set, IReadOnlyDictionary<string, string> env, Action<string> log)
    {
        var system = await LaunchedSystem.StartAsync(set, env, log);
        var target = new LaunchedTarget(system, set);
        try
        {
            var user = await target.RegisterAsync();
            var hub = new HubConnector().Build(((IChatTarget)target).HubUrl, user.AccessToken);
            await using (hub)
            {
                await hub.StartAsync();
                await hub.InvokeAsync<DateTimeOffset>("Ping");
            }

            return target;
        }
        catch
        {
            await target.DisposeAsync();
            throw;
        }
    }

    public Task<TestUser> RegisterAsync() => _client.RegisterAsync();

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        await _system.DisposeAsync();
    }
}
