namespace Chat.Bench.Reporting;

/// <summary>One measured series: our system or a baseline, under one scenario.</summary>
public sealed record Series(string Name, Percentiles? Latency, Dictionary<string, double> Metrics)
{
    public Series(string name, Percentiles? latency) : this(name, latency, new Dictionary<string, double>(StringComparer.Ordinal))
    {
    }
}

/// <summary>A target of issue 10 and whether this run met it.</summary>
public sealed record TargetCheck(string Target, string Measured, bool Met);

/// <summary>The outcome of one scenario.</summary>
public sealed class ScenarioResult(string name, string description)
{
    public string Name { get; } = name;

    public string Description { get; } = description;

    /// <summary>The parameters it ran with (users, rate, duration...).</summary>
    public Dictionary<string, string> Parameters { get; } = new(StringComparer.Ordinal);

    /// <summary>Ours first, then the baselines.</summary>
    public List<Series> Series { get; } = [];

    /// <summary>Our figures as ratios of the baselines' ("p50 vs relay" → 1.8).</summary>
    public Dictionary<string, double> Ratios { get; } = new(StringComparer.Ordinal);

    public List<TargetCheck> Targets { get; } = [];

    /// <summary>What exactly was measured, and any caveat.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>CPU (utime + stime) and RSS of each process over the measured window, and the servers' total.</summary>
    public List<Infrastructure.ProcessUsage> Processes { get; } = [];

    /// <summary>What the <see cref="Processes"/> window was (from when to when, messages).</summary>
    public string? ProcessWindow { get; set; }

    /// <summary>Soak: one row per interval (minute).</summary>
    public List<IntervalRow> Intervals { get; } = [];

    public double LoadBefore { get; set; }

    public double LoadAfter { get; set; }

    /// <summary>The speed probe's median ms just before the scenario (higher: a slower machine at that moment).</summary>
    public double? ProbeMs { get; set; }

    /// <summary>Percent of the machine's CPU time stolen by its hypervisor during the scenario.</summary>
    public double? StealPercent { get; set; }

    public double Seconds { get; set; }

    public Series Add(string name, Percentiles? latency, params (string Key, double Value)[] metrics)
    {
        var s = new Series(name, latency);
        foreach (var (k, v) in metrics)
        {
            s.Metrics[k] = v;
        }

        Series.Add(s);
        return s;
    }
}

/// <summary>One interval of a long run: messages sent in it, their latency, each process's RSS at its end and CPU per message in it.</summary>
public sealed record IntervalRow(int Index, double FromSeconds, double ToSeconds, long Sent, Percentiles Latency, List<Infrastructure.ProcessUsage> Processes);

/// <summary>Everything one invocation measured.</summary>
public sealed class BenchReport
{
    public required MachineInfo Machine { get; init; }

    public required string Command { get; init; }

    public required string Target { get; init; }

    public DateTimeOffset StartedAt { get; init; } = DateTimeOffset.UtcNow;

    public List<ScenarioResult> Scenarios { get; } = [];
}
