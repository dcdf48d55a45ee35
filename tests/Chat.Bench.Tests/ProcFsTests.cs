using System.Diagnostics;
using Chat.Bench.Infrastructure;
using Chat.Bench.Reporting;

namespace Chat.Bench.Tests;

/// <summary>
/// Issue 14: the /proc reading behind the bench's CPU-per-process columns: stat fields (with a
/// command name holding spaces and parentheses), RSS, environment, and the naming of a
/// ./run.sh process tree (sidecar, dotnet run launchers, apps by APP_ID), and the machine-wide
/// CPU line behind the reports' steal figure.
/// </summary>
[Trait("Area", "Bench")]
public sealed class ProcFsTests
{
    [Fact]
    public void Stat_fields_are_read_after_the_last_parenthesis()
    {
        // Fields 14 and 15 (utime, stime) of a process whose name contains ") (" and spaces.
        const string line = "4242 (a) (b c) S 17 4242 4242 0 -1 4194560 8417 0 0 0 1234 567 0 0 20 0 24 0 3021 3436453888 29834 18446744073709551615 1 1 0 0 0 0 0 4096 17663 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

        var stat = ProcFs.ParseStat(line);

        Assert.Equal(4242, stat.Pid);
        Assert.Equal("a) (b c", stat.Comm);
        Assert.Equal(17, stat.ParentPid);
        Assert.Equal(4242, stat.ProcessGroup);
        Assert.Equal(1234, stat.UserTicks);
        Assert.Equal(567, stat.SystemTicks);
        Assert.Equal(1801, stat.Ticks);
    }

    [Fact]
    public void Malformed_stat_is_refused()
    {
        Assert.Throws<FormatException>(() => ProcFs.ParseStat("12 no parentheses"));
        Assert.Throws<FormatException>(() => ProcFs.ParseStat("12 (short) S 1 2"));
    }

    [Fact]
    public void The_machines_cpu_line_gives_all_ticks_and_the_stolen_ones()
    {
        // user nice system idle iowait irq softirq steal guest guest_nice; guest is inside user already.
        const string before = "cpu  1000 10 200 5000 40 0 50 100 300 0\ncpu0 500 5 100 2500 20 0 25 50 150 0\nintr 1 2 3\n";
        const string after = "cpu  1100 10 250 5300 40 0 50 400 300 0\ncpu0 550 5 125 2650 20 0 25 200 150 0\n";

        var a = ProcFs.ParseCpuLine(before)!;
        var b = ProcFs.ParseCpuLine(after)!;

        Assert.Equal(6400, a.TotalTicks);
        Assert.Equal(100, a.StealTicks);
        // 750 ticks passed, 300 of them stolen.
        Assert.Equal(40.0, b.StealPercentSince(a)!.Value, 6);
        Assert.Null(a.StealPercentSince(a));
        Assert.Null(ProcFs.ParseCpuLine("cpu0 1 2 3 4 5 6 7 8\n"));
        Assert.Throws<FormatException>(() => ProcFs.ParseCpuLine("cpu  1 2 3\n"));
    }

    [Fact]
    public void A_report_names_the_speed_probe_and_the_steal_only_when_measured()
    {
        var measured = new ScenarioResult("latency", "x") { ProbeMs = 123.45, StealPercent = 2.5 };
        var older = new ScenarioResult("latency", "x");

        Assert.Equal(" Speed probe before 123.5 ms (fixed work; higher is a slower machine). CPU stolen by the hypervisor 2.5%.",
            ReportWriters.MachineSpeed(measured));
        Assert.Equal("", ReportWriters.MachineSpeed(older));
    }

    [Fact]
    public void Rss_and_environment_are_parsed()
    {
        Assert.Equal(12345L * 1024, ProcFs.ParseRss("Name:\tx\nVmPeak:\t 99999 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 1 kB\n"));
        Assert.Equal(0, ProcFs.ParseRss("Name:\tzombie\nState:\tZ (zombie)\n"));
        Assert.Equal("gateway", ProcFs.FindVariable("PATH=/bin\0APP_ID=gateway\0APP_IDX=no\0", "APP_ID"));
        Assert.Null(ProcFs.FindVariable("PATH=/bin\0XAPP_ID=gateway\0", "APP_ID"));
    }

    [Fact]
    public void Own_process_is_read_from_proc_and_its_cpu_time_grows_with_work()
    {
        Assert.InRange(ProcFs.ClockTicksPerSecond, 1, 100_000);
        var pid = Environment.ProcessId;
        var before = ProcFs.Stat(pid)!;
        Assert.Equal(pid, before.Pid);
        Assert.True(ProcFs.RssBytes(pid) > 1024 * 1024);
        Assert.Contains(ProcFs.All().Values, s => s.Pid == pid && s.ParentPid == before.ParentPid);

        // Busy until the kernel has counted a few ticks more (bounded: fails rather than hangs).
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        long spin = 0;
        while (ProcFs.Stat(pid)!.Ticks < before.Ticks + 3 && Stopwatch.GetTimestamp() < deadline)
        {
            for (var i = 0; i < 1_000_000; i++)
            {
                spin += i ^ spin;
            }
        }

        Assert.True(ProcFs.Stat(pid)!.Ticks >= before.Ticks + 3, $"utime+stime did not grow ({spin})");
        Assert.Null(ProcFs.Stat(int.MaxValue));
    }

    [Fact]
    public void A_run_sh_tree_is_named_by_app_id_with_launchers_apart()
    {
        // sidecar 100 → dotnet run 200 (APP_ID gateway) → app 201; dotnet run 300 → app 301 (router); a stray child 400.
        var all = new Dictionary<int, ProcStat>
        {
            [1] = new(1, "init", 0, 1, 0, 0),
            [100] = new(100, "dotnet", 1, 100, 0, 0),
            [200] = new(200, "dotnet", 100, 100, 0, 0),
            [201] = new(201, "Chat.Gateway", 200, 100, 0, 0),
            [300] = new(300, "dotnet", 100, 100, 0, 0),
            [301] = new(301, "Chat.Router", 300, 100, 0, 0),
            [400] = new(400, "sh", 100, 100, 0, 0),
            [500] = new(500, "unrelated", 1, 500, 0, 0),
        };
        var appIds = new Dictionary<int, string?> { [200] = "gateway", [201] = "gateway", [300] = "router", [301] = "router" };
        var commands = new Dictionary<int, string[]>
        {
            [100] = ["dotnet", "/r/tools/Dapr.DevSidecar/bin/Release/net10.0/dapr-dev-sidecar.dll", "run", "-f", "dapr.yaml"],
            [200] = ["dotnet", "run", "--no-build"],
            [201] = ["/r/services/Chat.Gateway/bin/Release/net10.0/Chat.Gateway"],
            [300] = ["dotnet", "run", "--no-build"],
            [301] = ["/r/services/Chat.Router/bin/Release/net10.0/Chat.Router"],
            [400] = ["/bin/sh", "-c", "x"],
        };

        var named = SystemProcesses.Classify(all, 100, appIds, commands);

        Assert.Equal(
            ["sidecar:100", "other: sh:400", "gateway:201", "router:301", "gateway launcher (dotnet run):200", "router launcher (dotnet run):300"],
            named.Select(p => $"{p.Name}:{p.Pid}"));
        Assert.Equal([true, true, true, true, false, false], named.Select(p => p.Server));
    }

    [Fact]
    public void Usage_is_cpu_ms_per_message_with_a_servers_total()
    {
        var self = Environment.ProcessId;
        var processes = new List<NamedProcess> { new("gateway", self, true), new(SystemProcesses.BenchName, self, false) };
        var before = ProcessSample.Take(processes);
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (ProcFs.Stat(self)!.Ticks < before.Values[self].Ticks + 5 && Stopwatch.GetTimestamp() < deadline)
        {
            Thread.SpinWait(100_000);
        }

        var rows = ProcessSample.Take(processes).Since(before, processes, messages: 10);

        Assert.Equal(["gateway", SystemProcesses.BenchName, "servers total"], rows.Select(r => r.Name));
        var gateway = rows[0];
        Assert.True(gateway.CpuMs >= 5 * 1000.0 / ProcFs.ClockTicksPerSecond, $"{gateway.CpuMs} ms");
        Assert.Equal(gateway.CpuMs / 10, gateway.CpuMsPerMessage, 6);
        Assert.True(gateway.RssMiB > 1);
        Assert.Equal(gateway.CpuMs, rows[2].CpuMs); // The bench is not a server.
    }

    [Fact]
    public void Run_file_keeps_run_sh_commands_and_moves_ports()
    {
        var folder = System.IO.Directory.CreateTempSubdirectory("chat-bench-runfile-").FullName;
        try
        {
            var root = Chat.Integration.Tests.Infrastructure.RepoPaths.Root;
            var (file, ports, clientPorts) = LaunchedSystem.WriteRunFile(root, folder, "redis");
            var yaml = File.ReadAllText(file);

            Assert.Equal(["bots", "delivery", "directory", "gateway", "messaging", "presence", "router"], ports.Keys.Order());
            Assert.Contains("- ./components/redis", yaml, StringComparison.Ordinal);
            Assert.Contains($"appDirPath: {root}/services/Chat.Gateway", yaml, StringComparison.Ordinal);
            Assert.Contains("command: [\"dotnet\", \"bin/Release/net10.0/Chat.Gateway.dll\"]", yaml, StringComparison.Ordinal);
            Assert.Contains($"appPort: {ports["gateway"]}", yaml, StringComparison.Ordinal);
            // The gateway's client port moves too, apart from its app port (the sidecar's).
            Assert.Contains($"ASPNETCORE_URLS: http://127.0.0.1:{clientPorts["gateway"]};http://127.0.0.1:{ports["gateway"]}", yaml, StringComparison.Ordinal);
            Assert.NotEqual(clientPorts["gateway"], ports["gateway"]);
            Assert.DoesNotContain(":5080", yaml, StringComparison.Ordinal);
            Assert.DoesNotContain(":5090", yaml, StringComparison.Ordinal);
        }
        finally
        {
            System.IO.Directory.Delete(folder, recursive: true);
        }
    }
}
