using System.Globalization;

namespace Chat.Bench.Infrastructure;

/// <summary>A process of the system under test (or the bench itself) with its role.</summary>
/// <param name="Name">"gateway", "sidecar", "bench (load clients)"…</param>
/// <param name="Pid">Its process id.</param>
/// <param name="Server">True for the system's processes (summed as "servers total"); false for the bench.</param>
internal sealed record NamedProcess(string Name, int Pid, bool Server);

/// <summary>
/// Finds the processes of a system started as <c>./run.sh</c> starts it: the dev sidecar
/// process (<c>dapr-dev-sidecar.dll run -f</c>, hosting every app's sidecar) and its
/// descendants. Each app process carries <c>APP_ID</c> in its environment (set by the sidecar);
/// with <c>dotnet run</c> as the command there are two per app, the launcher and the app below it:
/// the one with no descendant of the same APP_ID is the app, and the launcher is not counted as a server.
/// </summary>
internal static class SystemProcesses
{
    public const string SidecarDll = "dapr-dev-sidecar.dll";

    public const string BenchName = "bench (load clients)";

    /// <summary>The system's processes below <paramref name="systemPid"/> (the sidecar, or a shell that started it), named by role.</summary>
    public static List<NamedProcess> Discover(int systemPid)
    {
        var all = ProcFs.All();
        if (!all.ContainsKey(systemPid))
        {
            throw new ArgumentException($"no process {systemPid.ToString(CultureInfo.InvariantCulture)} (--system-pid)");
        }

        var below = ProcFs.Descendants(all, systemPid);
        var candidates = new List<int>([systemPid]);
        candidates.AddRange(below);
        var appIds = candidates.ToDictionary(p => p, p => ProcFs.EnvironmentVariable(p, "APP_ID"));
        var commands = candidates.ToDictionary(p => p, ProcFs.CommandLine);
        return Classify(all, systemPid, appIds, commands);
    }

    /// <summary>
    /// Names the processes of a system tree from their APP_ID and command line (separate from
    /// <see cref="Discover"/> so that it can be tested on a made-up tree).
    /// </summary>
    public static List<NamedProcess> Classify(IReadOnlyDictionary<int, ProcStat> all, int systemPid, IReadOnlyDictionary<int, string?> appIds, IReadOnlyDictionary<int, string[]> commands)
    {
        var tree = new List<int>([systemPid]);
        tree.AddRange(ProcFs.Descendants(all, systemPid));
        var result = new List<NamedProcess>();
        foreach (var pid in tree)
        {
            var appId = appIds.GetValueOrDefault(pid);
            var cmd = commands.GetValueOrDefault(pid) ?? [];
            string name;
            var server = true;
            if (appId is { Length: > 0 })
            {
                // The launcher only waits for its app: listed, but not in the servers' total.
                server = !ProcFs.Descendants(all, pid).Any(d => appIds.GetValueOrDefault(d) == appId);
                name = server ? appId : $"{appId} launcher (dotnet run)";
            }
            else if (cmd.Any(a => a.EndsWith(SidecarDll, StringComparison.Ordinal)))
            {
                name = "sidecar";
            }
            else if (cmd.Length == 0)
            {
                continue; // A zombie or a kernel thread: nothing to measure.
            }
            else
            {
                name = $"other: {Path.GetFileName(cmd[0])}";
            }

            // Several sidecar processes (one per app, as with daprd) get numbered names.
            var same = result.Count(r => r.Name == name || r.Name.StartsWith(name + " #", StringComparison.Ordinal));
            result.Add(new NamedProcess(same == 0 ? name : $"{name} #{(same + 1).ToString(CultureInfo.InvariantCulture)}", pid, server));
        }

        // The servers first (sidecar, then the apps in tree order), then the launchers.
        return [.. result.OrderBy(p => p.Server ? 0 : 1)];
    }

    /// <summary>
    /// The dev sidecar's multi-app run on this machine (<c>dapr-dev-sidecar.dll run</c>), for
    /// <c>--gateway</c> without <c>--system-pid</c>; null when there is none; an error when
    /// there are several (then <c>--system-pid</c> chooses).
    /// </summary>
    public static int? FindRun()
    {
        var runs = ProcFs.All().Keys.Where(p =>
        {
            var cmd = ProcFs.CommandLine(p);
            var dll = Array.FindIndex(cmd, a => a.EndsWith(SidecarDll, StringComparison.Ordinal));
            return dll >= 0 && dll + 1 < cmd.Length && cmd[dll + 1] == "run";
        }).ToList();
        return runs.Count switch
        {
            0 => null,
            1 => runs[0],
            _ => throw new ArgumentException($"several dev sidecar runs ({string.Join(", ", runs)}): choose one with --system-pid"),
        };
    }
}

/// <summary>What one process used over a measured window.</summary>
/// <param name="Name">Its role ("gateway", "sidecar", "servers total"…).</param>
/// <param name="Pids">Its process id(s).</param>
/// <param name="CpuMs">utime + stime over the window, in ms.</param>
/// <param name="CpuMsPerMessage">CpuMs / messages of the window (0 without messages).</param>
/// <param name="CpuPercent">CpuMs / window length (100 = one core busy).</param>
/// <param name="RssMiB">VmRSS at the end of the window.</param>
public sealed record ProcessUsage(string Name, string Pids, double CpuMs, double CpuMsPerMessage, double CpuPercent, double RssMiB);

/// <summary>CPU ticks and RSS of a set of processes at one moment.</summary>
internal sealed class ProcessSample
{
    private ProcessSample(long timestamp, Dictionary<int, (long Ticks, long Rss)> values)
    {
        Timestamp = timestamp;
        Values = values;
    }

    public long Timestamp { get; }

    public Dictionary<int, (long Ticks, long Rss)> Values { get; }

    public static ProcessSample Take(IEnumerable<NamedProcess> processes)
    {
        var values = new Dictionary<int, (long, long)>();
        foreach (var p in processes)
        {
            if (ProcFs.Stat(p.Pid) is { } stat)
            {
                values[p.Pid] = (stat.Ticks, ProcFs.RssBytes(p.Pid) ?? 0);
            }
        }

        return new ProcessSample(System.Diagnostics.Stopwatch.GetTimestamp(), values);
    }

    /// <summary>Per process and "servers total": CPU between <paramref name="before"/> and this sample, per message, RSS now.</summary>
    public List<ProcessUsage> Since(ProcessSample before, IReadOnlyList<NamedProcess> processes, long messages)
    {
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(before.Timestamp, Timestamp).TotalSeconds;
        var rows = new List<ProcessUsage>();
        double totalMs = 0, totalRss = 0;
        foreach (var p in processes)
        {
            if (!before.Values.TryGetValue(p.Pid, out var b) || !Values.TryGetValue(p.Pid, out var a))
            {
                rows.Add(new ProcessUsage(p.Name + " (gone)", p.Pid.ToString(CultureInfo.InvariantCulture), 0, 0, 0, 0));
                continue;
            }

            var row = Row(p.Name, p.Pid.ToString(CultureInfo.InvariantCulture), ProcFs.TicksToMs(a.Ticks - b.Ticks), a.Rss, messages, seconds);
            rows.Add(row);
            if (p.Server)
            {
                totalMs += row.CpuMs;
                totalRss += a.Rss;
            }
        }

        if (processes.Any(p => p.Server))
        {
            rows.Add(Row("servers total", string.Join(' ', processes.Where(p => p.Server).Select(p => p.Pid)), totalMs, (long)totalRss, messages, seconds));
        }

        return rows;
    }

    private static ProcessUsage Row(string name, string pids, double ms, long rss, long messages, double seconds) =>
        new(name, pids, ms, messages > 0 ? ms / messages : 0, seconds > 0 ? ms / 10 / seconds : 0, rss / 1024.0 / 1024.0);
}
