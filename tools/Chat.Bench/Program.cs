using System.Globalization;
using Chat.Bench;
using Chat.Bench.Infrastructure;
using Chat.Integration.Tests.Infrastructure;
using Spectre.Console;

if (args.Length > 0 && args[0] == "serve-baselines")
{
    // Child-process mode of the idle scenario: the baselines alone in a process, to read their RSS.
    var port = args.Length > 2 && args[1] == "--port" ? int.Parse(args[2], CultureInfo.InvariantCulture) : 0;
    await using var server = await BaselineServer.StartAsync(port);
    Console.WriteLine($"baselines at {server.Url}");
    await Task.Delay(Timeout.Infinite);
    return 0;
}

if (args.Length > 0 && args[0] == "processes")
{
    // What the CPU/RSS columns would measure of a running system: ./run.sh's dev sidecar run and its descendants, by role.
    var pid = args.Length > 2 && args[1] == "--system-pid" ? int.Parse(args[2], CultureInfo.InvariantCulture) : SystemProcesses.FindRun();
    if (pid is null)
    {
        Console.Error.WriteLine("no dev sidecar run (dapr-dev-sidecar.dll run) found; give --system-pid PID");
        return 1;
    }

    foreach (var p in SystemProcesses.Discover(pid.Value))
    {
        Console.WriteLine($"{p.Pid,8}  {p.Name,-36} RSS {(ProcFs.RssBytes(p.Pid) ?? 0) / 1048576.0,8:F1} MiB  CPU {ProcFs.TicksToMs(ProcFs.Stat(p.Pid)?.Ticks ?? 0) / 1000,9:F1} s  {string.Join(' ', ProcFs.CommandLine(p.Pid))}");
    }

    return 0;
}

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("""
        chat-bench processes [--system-pid PID]    list the processes of a running ./run.sh system that the CPU columns measure
        chat-bench [scenario ...] [options]        scenarios: all (default), latency, fanout, send, sync, reconnect, sidecar, actors, idle; soak (only when named)

          --quick                 tiny sizes (seconds), to try the tool
          --start-system SET      start the system as ./run.sh does (separate processes, own process group) on components/SET:
                                  embedded or redis (its own redis-server on a free port); stopped at the end. Needs the Release build.
          --gateway URL           a running system (./run.sh) instead of starting one in this process
          --system-pid PID        the dev sidecar run (./run.sh's pid) of that system, for CPU/RSS per process (default: found in /proc)
          --gateway-pid PID       its gateway process, for idle RSS;  --directory URL, --messaging URL: their gRPC ports (5102, 5101)
          --users N --rate R --duration S        latency (2000, 1000, 20); --users/--rate also size soak
          --minutes M --interval S               soak (10 minutes, reported per 60 s; 400 users, 300 msg/s)
          --members M --sends K                  fanout (500, 20)
          --connections C --sources S            idle (20000, 16 source addresses 127.0.0.2…)
          --clients M                            reconnect (500)
          --missed K                             sync (1000)
          --calls N --seconds S --concurrency C  sidecar, actors, send (2000, 10, 32)
          --out DIR               results folder (default tools/Chat.Bench/results/<time>)
          --update-docs           rewrite the scenarios' sections of docs/benchmarks.md
          --sqlite-synchronous M  open the started system's state.sqlite files with _pragma=synchronous(M), e.g. normal
        """);
    return 0;
}

if (Console.IsOutputRedirected)
{
    AnsiConsole.Profile.Width = 180;
}

try
{
    var options = Parse(args);
    await BenchRunner.RunAsync(options, AnsiConsole.Console);
    return 0;
}
catch (ArgumentException ex)
{
    AnsiConsole.MarkupLine($"[red]{Markup.Escape(ex.Message)}[/] (see --help)");
    return 2;
}

static BenchOptions Parse(string[] args)
{
    var scenarios = new List<string>();
    var o = args.Contains("--quick") ? BenchOptions.Quick() : new BenchOptions();
    for (var i = 0; i < args.Length; i++)
    {
        var a = args[i];
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
        int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
        double Dbl() => double.Parse(Next(), CultureInfo.InvariantCulture);
        o = a switch
        {
            "--quick" => o,
            "--gateway" => o with { GatewayUrl = Next() },
            "--gateway-pid" => o with { GatewayPid = Int() },
            "--directory" => o with { DirectoryUrl = Next() },
            "--messaging" => o with { MessagingUrl = Next() },
            "--users" => Users(o, Int()),
            "--rate" => Rate(o, Int()),
            "--minutes" => o with { SoakMinutes = Dbl() },
            "--interval" => o with { SoakInterval = Dbl() },
            "--start-system" => o with { StartSystem = ComponentSet(Next()) },
            "--system-pid" => o with { SystemPid = Int() },
            "--duration" => o with { Duration = Dbl() },
            "--members" => o with { Members = Int() },
            "--sends" => o with { FanoutSends = Int() },
            "--connections" => o with { Connections = Int() },
            "--sources" => o with { SourceAddresses = Int() },
            "--clients" => o with { ReconnectClients = Int() },
            "--missed" => o with { SyncMissed = Int() },
            "--calls" => o with { HopCalls = Int() },
            "--seconds" => o with { SeriesSeconds = Dbl() },
            "--concurrency" => o with { Concurrency = Int() },
            "--out" => o with { OutputFolder = Next() },
            "--update-docs" => o with { UpdateDocs = true },
            "--sqlite-synchronous" => o with { SqliteSynchronous = Next() },
            _ when a.StartsWith("--", StringComparison.Ordinal) => throw new ArgumentException($"unknown option {a}"),
            _ when a == "all" => o,
            _ when BenchRunner.IsScenario(a) => Add(o, a),
            _ => throw new ArgumentException($"unknown scenario {a}"),
        };
    }

    // --users and --rate size every rate scenario (latency and soak); without them each keeps its default.
    static BenchOptions Users(BenchOptions opts, int n) => opts with { Users = n, SoakUsers = n };
    static BenchOptions Rate(BenchOptions opts, int r) => opts with { Rate = r, SoakRate = r };
    static string ComponentSet(string set) => set is "embedded" or "redis" ? set : throw new ArgumentException($"--start-system takes embedded or redis, not '{set}'");

    BenchOptions Add(BenchOptions opts, string s)
    {
        scenarios.Add(s.ToLowerInvariant());
        return opts;
    }

    return o with
    {
        Scenarios = scenarios.Count > 0 ? scenarios : BenchOptions.AllScenarios,
        OutputFolder = string.IsNullOrEmpty(o.OutputFolder)
            ? Path.Combine(RepoPaths.Root, "tools", "Chat.Bench", "results", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture))
            : o.OutputFolder,
        Command = "dotnet run --project tools/Chat.Bench -c Release -- " + string.Join(' ', args),
    };
}
