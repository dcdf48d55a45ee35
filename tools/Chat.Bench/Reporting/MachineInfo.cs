using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Chat.Bench.Reporting;

/// <summary>What the numbers were measured on.</summary>
public sealed record MachineInfo(int Cores, string Memory, string Cpu, string Os, string DotNet, string Commit, string LoadAverage)
{
    public static MachineInfo Collect(string repoRoot) => new(
        Environment.ProcessorCount,
        ReadMemTotal(),
        ReadCpuModel(),
        RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        GitCommit(repoRoot),
        LoadAverageText());

    /// <summary>The 1-minute load average (the first field of /proc/loadavg), 0 when unknown.</summary>
    public static double LoadAverage1()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public static string LoadAverageText()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string ReadMemTotal()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            return $"{kb / 1024.0 / 1024.0:F1} GiB";
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or FormatException)
        {
            return "unknown";
        }
    }

    private static string ReadCpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? RuntimeInformation.ProcessArchitecture.ToString() : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string GitCommit(string repoRoot)
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse --short HEAD")
            {
                WorkingDirectory = repoRoot,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (git is null)
            {
                return "unknown";
            }

            var sha = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 ? sha : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}
