using Chat.Bench.Infrastructure;
using Chat.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Spectre.Console;

namespace Chat.Bench;

/// <summary>What scenarios share in one invocation: the target, the baselines, registered users.</summary>
public sealed class BenchContext(BenchOptions options, IAnsiConsole console) : IAsyncDisposable
{
    private readonly List<TestUser> _users = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IChatTarget? _target;
    private BaselineServer? _baselines;

    public BenchOptions Options { get; } = options;

    public IAnsiConsole Console { get; } = console;

    public async Task<IChatTarget> TargetAsync()
    {
        if (_target is null)
        {
            if (Options.StartSystem is { } set)
            {
                var env = SendLimitOverride();
                _target = await LaunchedTarget.StartAsync(set, env, line => Console.MarkupLine($"[grey]{Markup.Escape(line)}[/]"));
            }
            else
            {
                Console.MarkupLine(Options.GatewayUrl is null ? "[grey]starting the system in this process…[/]" : $"[grey]using the system at {Markup.Escape(Options.GatewayUrl)}[/]");
                _target = Options.GatewayUrl is null
                    ? await InProcessTarget.StartAsync(Options.SqliteSynchronous)
                    : new ExternalTarget(Options.GatewayUrl, Options.DirectoryUrl, Options.MessagingUrl);
            }
        }

        return _target;
    }

    /// <summary>Notes on how the system was started and measured, for every scenario's report.</summary>
    public List<string> SystemNotes { get; } = [];

    /// <summary>
    /// The gateway's per-user send limit (Gateway:RateLimits:Send) must not shape the load. In latency
    /// and soak each of N users sends R / N messages a second; fanout's owner sends 2 × K within
    /// seconds. When the defaults would refuse that, the limit is raised through the environment of
    /// the started system (Gateway__RateLimits__Send__* and, for the receipts that follow, Receipt), never by changing the defaults.
    /// </summary>
    internal Dictionary<string, string> SendLimitOverride()
    {
        var defaults = Chat.Gateway.Hubs.HubRatePolicies.Defaults[Chat.Gateway.Hubs.HubRatePolicies.Send];
        var perSecond = defaults.PerSecond;
        var need = 0.0;
        if (Options.Scenarios.Contains("latency"))
        {
            need = Math.Max(need, Options.Rate / (double)Math.Max(2, Options.Users));
        }

        if (Options.Scenarios.Contains("soak"))
        {
            need = Math.Max(need, Options.SoakRate / (double)Math.Max(2, Options.SoakUsers));
        }

        // Half the limit at most: the sender's timer ticks every 5 ms and sends in small bursts.
        var burstNeed = Options.Scenarios.Contains("fanout") ? 2 * Options.FanoutSends + 10 : 0;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (need * 2 > perSecond || burstNeed > defaults.Burst)
        {
            var rate = Math.Max((int)Math.Ceiling(defaults.PerSecond), (int)Math.Ceiling(need * 2));
            foreach (var limit in new[] { "Send", "Receipt" })
            {
                env[$"Gateway__RateLimits__{limit}__PerSecond"] = rate.ToString(System.Globalization.CultureInfo.InvariantCulture);
                env[$"Gateway__RateLimits__{limit}__Burst"] = Math.Max(Math.Max(defaults.Burst, burstNeed), rate).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            SystemNotes.Add($"The gateway's per-user send limit (default {defaults.PerSecond}/s, burst {defaults.Burst}) would refuse this load ({need:F1} msg/s per user, bursts of {burstNeed}): raised through the environment: {string.Join(", ", env.Select(e => $"{e.Key}={e.Value}"))}.");
        }
        else
        {
            SystemNotes.Add($"The gateway's per-user send limit stays at its defaults ({defaults.PerSecond}/s, burst {defaults.Burst}); this load needs {need:F1} msg/s per user.");
        }

        return env;
    }

    private List<NamedProcess>? _processes;

    /// <summary>
    /// The processes whose CPU and RSS are reported: the started or discovered system's (by role)
    /// and this process (the load clients; with the in-process system, everything).
    /// </summary>
    internal async Task<IReadOnlyList<NamedProcess>> ProcessesAsync()
    {
        if (_processes is not null)
        {
            return _processes;
        }

        var target = await TargetAsync();
        var list = new List<NamedProcess>();
        int? systemPid = target is LaunchedTarget launched ? launched.Launched.SidecarPid : Options.GatewayUrl is null ? null : Options.SystemPid ?? SystemProcesses.FindRun();
        if (systemPid is { } pid)
        {
            list.AddRange(SystemProcesses.Discover(pid));
            if (target is LaunchedTarget { Launched.RedisPid: { } redis })
            {
                list.Add(new NamedProcess("redis-server", redis, Server: true));
            }
        }
        else if (Options.GatewayUrl is not null)
        {
            SystemNotes.Add("No dev sidecar run found (give --system-pid): only the bench process's CPU is reported.");
        }

        list.Add(new NamedProcess(target is InProcessTarget ? "bench (load clients + the whole in-process system)" : SystemProcesses.BenchName, Environment.ProcessId, Server: false));
        _processes = list;
        return list;
    }

    /// <summary>Starts a CPU/RSS window over <see cref="ProcessesAsync"/>; <see cref="CpuWindow.End"/> gives the rows.</summary>
    internal async Task<CpuWindow> BeginCpuWindowAsync()
    {
        var processes = await ProcessesAsync();
        return new CpuWindow(processes, ProcessSample.Take(processes));
    }

    /// <summary>A measured window: from its start (the first send) to <see cref="End"/> (the end of the drain).</summary>
    internal sealed class CpuWindow(IReadOnlyList<NamedProcess> processes, ProcessSample start)
    {
        internal ProcessSample Start => start;

        internal IReadOnlyList<NamedProcess> Processes => processes;

        public List<ProcessUsage> End(long messages) => ProcessSample.Take(processes).Since(start, processes, messages);
    }

    /// <summary>The in-process baselines (relay hub, WebSocket echo).</summary>
    public async Task<BaselineServer> BaselinesAsync() => _baselines ??= await BaselineServer.StartAsync();

    /// <summary>The first <paramref name="count"/> bench users, registering more when needed.</summary>
    public async Task<IReadOnlyList<TestUser>> UsersAsync(int count)
    {
        await _gate.WaitAsync();
        try
        {
            var target = await TargetAsync();
            var missing = count - _users.Count;
            if (missing > 0)
            {
                await Progress($"registering {missing} users", missing, async tick =>
                {
                    var made = await ForEachAsync(Enumerable.Range(0, missing), 8, async _ =>
                    {
                        var u = await target.RegisterAsync();
                        tick();
                        return u;
                    });
                    _users.AddRange(made);
                });
            }

            return _users.Take(count).ToList();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Starts connections for <paramref name="users"/> to the chat hub.</summary>
    public async Task<HubConnection[]> ConnectAsync(IReadOnlyList<TestUser> users, Action<HubConnection, int>? setup = null, int parallel = 32)
    {
        var target = await TargetAsync();
        var connector = new HubConnector();
        var result = new HubConnection[users.Count];
        await Progress($"connecting {users.Count} users", users.Count, async tick =>
            await ForEachAsync(Enumerable.Range(0, users.Count), parallel, async i =>
            {
                // WebSockets without the negotiate request: no HttpClient (and its pooled, idle
                // keep-alive connection) per hub connection, which at 2,000 users doubled the sockets.
                var c = connector.Build(target.HubUrl, users[i].AccessToken, skipNegotiation: true);
                setup?.Invoke(c, i);
                await c.StartAsync();
                // Returns once the gateway has registered the connection's route (OnConnectedAsync ran).
                await c.InvokeAsync<DateTimeOffset>("Ping");
                result[i] = c;
                tick();
                return c;
            }));
        return result;
    }

    /// <summary>Connections to the relay baseline, one per user id.</summary>
    public async Task<HubConnection[]> ConnectRelayAsync(IReadOnlyList<string> userIds, Action<HubConnection, int>? setup = null, int parallel = 32)
    {
        var baselines = await BaselinesAsync();
        var connector = new HubConnector();
        var result = new HubConnection[userIds.Count];
        await ForEachAsync(Enumerable.Range(0, userIds.Count), parallel, async i =>
        {
            var c = connector.Build($"{baselines.Url}{BaselineServer.RelayPath}?user={Uri.EscapeDataString(userIds[i])}", null, skipNegotiation: true);
            setup?.Invoke(c, i);
            await c.StartAsync();
            result[i] = c;
            return c;
        });
        return result;
    }

    public static async Task DisposeAllAsync(IEnumerable<HubConnection?> connections) =>
        await Task.WhenAll(connections.Where(c => c is not null).Select(async c => await c!.DisposeAsync()));

    /// <summary>Runs <paramref name="body"/> over <paramref name="items"/> with at most <paramref name="parallel"/> at once.</summary>
    public static async Task<List<T>> ForEachAsync<TIn, T>(IEnumerable<TIn> items, int parallel, Func<TIn, Task<T>> body)
    {
        var results = new System.Collections.Concurrent.ConcurrentBag<T>();
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (item, _) => results.Add(await body(item)));
        return [.. results];
    }

    /// <summary>A progress bar for a step of <paramref name="total"/> units.</summary>
    public async Task Progress(string what, double total, Func<Action, Task> body)
    {
        await Console.Progress().AutoClear(true).StartAsync(async ctx =>
        {
            var task = ctx.AddTask(Markup.Escape(what), maxValue: Math.Max(total, 1));
            await body(() => task.Increment(1));
            task.Value = task.MaxValue;
        });
    }

    /// <summary>Calls of the last <see cref="AtRateAsync"/> still running 15 s after its end.</summary>
    public int Unfinished { get; private set; }

    /// <summary>Calls <paramref name="fire"/> at <paramref name="rate"/> per second for <paramref name="duration"/>, with a progress bar; returns the number of calls.</summary>
    public async Task<long> AtRateAsync(string what, double rate, TimeSpan duration, Func<long, Task> fire)
    {
        long sent = 0;
        Unfinished = 0;
        var pending = new List<Task>();
        await Progress(what, duration.TotalSeconds, async tick =>
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            var lastSecond = 0;
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
            while (true)
            {
                var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start);
                if (elapsed >= duration)
                {
                    break;
                }

                var due = (long)(elapsed.TotalSeconds * rate);
                while (sent < due)
                {
                    pending.Add(fire(sent++));
                }

                for (; lastSecond < (int)elapsed.TotalSeconds; lastSecond++)
                {
                    tick();
                }

                await timer.WaitForNextTickAsync();
            }

            try
            {
                // Past the run, give outstanding calls a bounded grace: a system slower than the rate
                // leaves a backlog, which is reported (not acked, not received), not waited out.
                await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(15));
            }
            catch (TimeoutException)
            {
                Unfinished = pending.Count(t => !t.IsCompleted);
            }
        });
        return sent;
    }

    /// <summary>
    /// A closed loop: <paramref name="callers"/> callers each call <paramref name="call"/>(caller, k) again as soon as the
    /// previous call returns, for <paramref name="duration"/>. Latency per call, calls per second, errors.
    /// </summary>
    public async Task<Reporting.Series> ClosedLoopAsync(string name, int callers, TimeSpan duration, Func<int, int, Task> call, string rateName = "calls/s")
    {
        var latency = new Reporting.LatencyRecorder();
        long count = 0, errors = 0;
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        await Progress(name, callers, async tick =>
            await Task.WhenAll(Enumerable.Range(0, callers).Select(async i =>
            {
                for (var k = 0; System.Diagnostics.Stopwatch.GetElapsedTime(start) < duration; k++)
                {
                    var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    try
                    {
                        await call(i, k);
                        latency.RecordSince(t0);
                        Interlocked.Increment(ref count);
                    }
                    catch (Exception ex) when (ex is Microsoft.AspNetCore.SignalR.HubException or InvalidOperationException or IOException or HttpRequestException or Dapr.DaprException)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }

                tick();
            })));
        return new Reporting.Series(name, latency.Snapshot(), new Dictionary<string, double>(StringComparer.Ordinal)
        {
            [rateName] = count / System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds,
            ["errors"] = errors,
        });
    }

    /// <summary>Waits until <paramref name="condition"/> holds or <paramref name="timeout"/> passes; returns whether it held.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        while (!condition())
        {
            if (System.Diagnostics.Stopwatch.GetTimestamp() > deadline)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_baselines is not null)
        {
            await _baselines.DisposeAsync();
        }

        if (_target is not null)
        {
            await _target.DisposeAsync();
        }

        _gate.Dispose();
    }
}
