using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Chat.Bench.Infrastructure;

/// <summary>Process facts from /proc, the open-file limit, and child processes.</summary>
internal static partial class ProcessTools
{
    /// <summary>Resident set size of a process in bytes (VmRSS in /proc/{pid}/status).</summary>
    public static long RssBytes(int pid) => ProcFs.RssBytes(pid) ?? throw new InvalidOperationException($"no process {pid}");

    /// <summary>Children of <paramref name="parentPid"/> whose command line contains <paramref name="contains"/>.</summary>
    public static int? FindChild(int parentPid, string contains)
    {
        foreach (var stat in ProcFs.All().Values.Where(s => s.ParentPid == parentPid))
        {
            if (string.Join(' ', ProcFs.CommandLine(stat.Pid)).Contains(contains, StringComparison.Ordinal))
            {
                return stat.Pid;
            }
        }

        return null;
    }

    /// <summary>Raises this process's open-file limit (inherited by children) so that tens of thousands of sockets fit.</summary>
    public static long RaiseOpenFileLimit(ulong wanted = 400_000)
    {
        if (!OperatingSystem.IsLinux())
        {
            return -1;
        }

        var current = default(RLimit);
        if (GetRLimit(RlimitNoFile, ref current) != 0)
        {
            return -1;
        }

        if (current.Cur >= wanted)
        {
            return (long)current.Cur;
        }

        var raised = new RLimit { Cur = wanted, Max = Math.Max(wanted, current.Max) };
        if (SetRLimit(RlimitNoFile, ref raised) == 0)
        {
            return (long)wanted;
        }

        // Not root: the soft limit can still go up to the hard one.
        raised = new RLimit { Cur = current.Max, Max = current.Max };
        return SetRLimit(RlimitNoFile, ref raised) == 0 ? (long)current.Max : (long)current.Cur;
    }

    /// <summary>Starts a child process with its output to <paramref name="logFile"/>.</summary>
    public static Process Start(string fileName, IEnumerable<string> args, string logFile, IDictionary<string, string>? env = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {fileName}");
        var log = new StreamWriter(logFile) { AutoFlush = true };
        var gate = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { log.WriteLine(e.Data); } } };
        process.Exited += (_, _) => { lock (gate) { log.Dispose(); } };
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>SIGTERM, then kill the whole tree after <paramref name="grace"/>.</summary>
    public static async Task StopAsync(Process process, TimeSpan grace)
    {
        if (process.HasExited)
        {
            return;
        }

        _ = Signal(process.Id, 15);
        using var cts = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }
    }

    private const int RlimitNoFile = 7;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Cur;
        public ulong Max;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit")]
    private static partial int GetRLimit(int resource, ref RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit")]
    private static partial int SetRLimit(int resource, ref RLimit limit);

    /// <summary>kill(2): <paramref name="signal"/> to a process, or to a process group when <paramref name="pid"/> is negative.</summary>
    [LibraryImport("libc", EntryPoint = "kill")]
    internal static partial int Signal(int pid, int signal);
}
