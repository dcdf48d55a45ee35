using System.Globalization;
using System.Runtime.InteropServices;

namespace Chat.Bench.Infrastructure;

/// <summary>The fields of /proc/PID/stat the bench uses.</summary>
/// <param name="Pid">The process id.</param>
/// <param name="Comm">The command name (in parentheses in the file; may contain spaces and parentheses).</param>
/// <param name="ParentPid">Field 4.</param>
/// <param name="ProcessGroup">Field 5.</param>
/// <param name="UserTicks">utime, field 14, in clock ticks.</param>
/// <param name="SystemTicks">stime, field 15, in clock ticks.</param>
internal sealed record ProcStat(int Pid, string Comm, int ParentPid, int ProcessGroup, long UserTicks, long SystemTicks)
{
    public long Ticks => UserTicks + SystemTicks;
}

/// <summary>Machine-wide CPU ticks of /proc/stat: all of them, and the stolen ones.</summary>
internal sealed record CpuTimes(long TotalTicks, long StealTicks)
{
    /// <summary>Percent of the machine's CPU time from <paramref name="before"/> to this that was stolen, or null if none passed.</summary>
    public double? StealPercentSince(CpuTimes before) =>
        TotalTicks > before.TotalTicks ? 100.0 * (StealTicks - before.StealTicks) / (TotalTicks - before.TotalTicks) : null;
}

/// <summary>Reads processes from /proc: CPU time, RSS, parent, command line, environment.</summary>
internal static partial class ProcFs
{
    private const int ScClkTck = 2; // _SC_CLK_TCK in glibc and musl.

    /// <summary>Clock ticks per second of utime/stime (sysconf(_SC_CLK_TCK), 100 on most Linux builds).</summary>
    public static long ClockTicksPerSecond { get; } = ReadClockTicks();

    /// <summary>Parses the text of /proc/PID/stat. The command name ends at the LAST ')' since it may itself contain ')'.</summary>
    public static ProcStat ParseStat(string text)
    {
        var open = text.IndexOf('(', StringComparison.Ordinal);
        var close = text.LastIndexOf(')');
        if (open < 0 || close < open)
        {
            throw new FormatException($"not a /proc/PID/stat line: '{text}'");
        }

        // After "pid (comm) ": field 3 (state) is index 0, so field N is index N - 3.
        var rest = text[(close + 2)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length < 13)
        {
            throw new FormatException($"too few fields in /proc/PID/stat: '{text}'");
        }

        long Field(int n) => long.Parse(rest[n - 3], NumberStyles.Integer, CultureInfo.InvariantCulture);
        return new ProcStat(
            int.Parse(text.AsSpan(0, open).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture),
            text[(open + 1)..close],
            (int)Field(4),
            (int)Field(5),
            Field(14),
            Field(15));
    }

    /// <summary>/proc/PID/stat of a live process, or null when it has gone.</summary>
    public static ProcStat? Stat(int pid)
    {
        try
        {
            return ParseStat(File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The machine-wide <c>cpu</c> line of a /proc/stat text: every field's ticks summed (user to
    /// steal; guest time is inside user already), and steal, the time the hypervisor ran someone
    /// else while this machine had work. Null when the line is absent.
    /// </summary>
    public static CpuTimes? ParseCpuLine(string procStat)
    {
        foreach (var line in procStat.Split('\n'))
        {
            if (!line.StartsWith("cpu ", StringComparison.Ordinal))
            {
                continue;
            }

            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(x => long.Parse(x, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
            if (f.Length < 8)
            {
                throw new FormatException($"too few fields in the cpu line of /proc/stat: '{line}'");
            }

            // user nice system idle iowait irq softirq steal [guest guest_nice]
            return new CpuTimes(f.Take(8).Sum(), f[7]);
        }

        return null;
    }

    /// <summary>The machine's CPU times now, or null where /proc/stat cannot be read.</summary>
    public static CpuTimes? MachineCpu() => ParseCpuLine(ReadOrEmpty("/proc/stat"));

    /// <summary>Milliseconds of CPU that <paramref name="ticks"/> clock ticks are.</summary>
    public static double TicksToMs(long ticks) => ticks * 1000.0 / ClockTicksPerSecond;

    /// <summary>VmRSS of /proc/PID/status in bytes, or null when the process has gone.</summary>
    public static long? RssBytes(int pid)
    {
        try
        {
            return ParseRss(File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>VmRSS (kB in the file) of a /proc/PID/status text, in bytes; 0 when absent (a zombie).</summary>
    public static long ParseRss(string status)
    {
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    /// <summary>The arguments of /proc/PID/cmdline (NUL-separated), empty when unreadable.</summary>
    public static string[] CommandLine(int pid) => SplitNul(ReadOrEmpty($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline"));

    /// <summary>One variable of /proc/PID/environ (the process's environment at exec), or null.</summary>
    public static string? EnvironmentVariable(int pid, string name) =>
        FindVariable(ReadOrEmpty($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/environ"), name);

    /// <summary>The value of <paramref name="name"/> in a NUL-separated NAME=value block.</summary>
    public static string? FindVariable(string environ, string name)
    {
        var prefix = name + "=";
        return SplitNul(environ).FirstOrDefault(e => e.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..];
    }

    /// <summary>Every live process id and its parent.</summary>
    public static Dictionary<int, ProcStat> All()
    {
        var result = new Dictionary<int, ProcStat>();
        foreach (var dir in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Stat(pid) is { } stat)
            {
                result[pid] = stat;
            }
        }

        return result;
    }

    /// <summary>The processes below <paramref name="root"/> (children, grandchildren…) in <paramref name="all"/>.</summary>
    public static List<int> Descendants(IReadOnlyDictionary<int, ProcStat> all, int root)
    {
        var children = all.Values.ToLookup(s => s.ParentPid, s => s.Pid);
        var result = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.TryDequeue(out var pid))
        {
            foreach (var child in children[pid])
            {
                result.Add(child);
                queue.Enqueue(child);
            }
        }

        return result;
    }

    private static string[] SplitNul(string text) => text.Split('\0', StringSplitOptions.RemoveEmptyEntries);

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static long ReadClockTicks()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 100;
        }

        var ticks = SysConf(ScClkTck);
        return ticks > 0 ? ticks : 100;
    }

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SysConf(int name);
}
