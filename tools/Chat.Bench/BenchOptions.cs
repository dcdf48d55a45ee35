namespace Chat.Bench;

/// <summary>What to run and at what size. Defaults are the sizes of issue 10's targets.</summary>
public sealed record BenchOptions
{
    public static readonly string[] AllScenarios = ["latency", "fanout", "send", "sync", "reconnect", "sidecar", "actors", "idle"];

    public IReadOnlyList<string> Scenarios { get; init; } = AllScenarios;

    /// <summary>External system: its gateway URL (null: start the system in this process).</summary>
    public string? GatewayUrl { get; init; }

    public string DirectoryUrl { get; init; } = "http://127.0.0.1:5102";

    public string MessagingUrl { get; init; } = "http://127.0.0.1:5101";

    /// <summary>The external gateway's process id, for its RSS (idle).</summary>
    public int? GatewayPid { get; init; }

    /// <summary>
    /// "embedded" or "redis": start the system as ./run.sh does, as separate processes, on that
    /// component set (null: --gateway's system, or the system in this process).
    /// </summary>
    public string? StartSystem { get; init; }

    /// <summary>The dev sidecar run of an external system (./run.sh's process), whose processes the CPU columns measure.</summary>
    public int? SystemPid { get; init; }

    /// <summary>latency: users online, messages per second, seconds.</summary>
    public int Users { get; init; } = 2000;

    public int Rate { get; init; } = 1000;

    public double Duration { get; init; } = 20;

    /// <summary>soak: length in minutes, users online, messages per second, seconds per reported interval.</summary>
    public double SoakMinutes { get; init; } = 10;

    public int SoakUsers { get; init; } = 400;

    public int SoakRate { get; init; } = 300;

    public double SoakInterval { get; init; } = 60;

    /// <summary>fanout: group members (all online), timed sends.</summary>
    public int Members { get; init; } = 500;

    public int FanoutSends { get; init; } = 20;

    /// <summary>idle: connections; 0 skips the baselines' share.</summary>
    public int Connections { get; init; } = 20_000;

    /// <summary>Source addresses 127.0.0.2 … for the idle connections.</summary>
    public int SourceAddresses { get; init; } = 16;

    /// <summary>reconnect: clients that drop and come back at once.</summary>
    public int ReconnectClients { get; init; } = 500;

    /// <summary>sync: messages missed while offline.</summary>
    public int SyncMissed { get; init; } = 1000;

    /// <summary>sidecar: calls per hop; actors and send: seconds per series and concurrent callers.</summary>
    public int HopCalls { get; init; } = 2000;

    public double SeriesSeconds { get; init; } = 10;

    public int Concurrency { get; init; } = 32;

    public string OutputFolder { get; init; } = "";

    /// <summary>
    /// When set (e.g. "normal"), the systems the bench starts open their state.sqlite files with
    /// <c>_pragma=synchronous(…)</c>: a measurement of what the per-commit fsync costs.
    /// </summary>
    public string? SqliteSynchronous { get; init; }

    public bool UpdateDocs { get; init; }

    public string Command { get; init; } = "";

    /// <summary>A failing scenario stops the run (tests) instead of being reported as failed.</summary>
    public bool ThrowOnFailure { get; init; }

    /// <summary>Tiny sizes, for the smoke test and a first look.</summary>
    public static BenchOptions Quick(params string[] scenarios) => new()
    {
        Scenarios = scenarios.Length == 0 ? AllScenarios : scenarios,
        Users = 6,
        Rate = 30,
        Duration = 1.5,
        SoakMinutes = 0.05,
        SoakUsers = 6,
        SoakRate = 30,
        SoakInterval = 1,
        Members = 8,
        FanoutSends = 3,
        Connections = 40,
        SourceAddresses = 2,
        ReconnectClients = 6,
        SyncMissed = 30,
        HopCalls = 30,
        SeriesSeconds = 1,
        Concurrency = 4,
    };
}
