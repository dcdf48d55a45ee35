using System.Diagnostics;
using Chat.Bench.Infrastructure;
using Chat.Bench.Reporting;
using Chat.Bench.Scenarios;
using Chat.Integration.Tests.Infrastructure;
using Spectre.Console;

namespace Chat.Bench;

/// <summary>Runs the chosen scenarios, then writes the report (console, JSON, markdown, SVG, docs).</summary>
public static class BenchRunner
{
    private static readonly Dictionary<string, Func<BenchContext, Task<ScenarioResult>>> Scenarios = new(StringComparer.OrdinalIgnoreCase)
    {
        ["latency"] = LatencyScenario.RunAsync,
        ["fanout"] = FanoutScenario.RunAsync,
        ["send"] = SendScenario.RunAsync,
        ["sync"] = SyncScenario.RunAsync,
        ["reconnect"] = ReconnectScenario.RunAsync,
        ["sidecar"] = SidecarScenario.RunAsync,
        ["actors"] = ActorsScenario.RunAsync,
        ["idle"] = IdleScenario.RunAsync,
        ["soak"] = SoakScenario.RunAsync,
    };

    public static bool IsScenario(string name) => Scenarios.ContainsKey(name);

    public static async Task<BenchReport> RunAsync(BenchOptions options, IAnsiConsole console)
    {
        ProcessTools.RaiseOpenFileLimit();
        var report = new BenchReport
        {
            Machine = MachineInfo.Collect(RepoPaths.Root),
            Command = options.Command,
            Target = options.StartSystem is { } set ? $"./run.sh's system (dev sidecar run -f dapr.yaml, apps by dotnet run --no-build) as separate processes, started by the bench on components/{set}"
                : options.GatewayUrl is null ? "the system started in the bench process (embedded components)" : $"the system at {options.GatewayUrl}",
        };
        console.MarkupLine($"[bold]chat-bench[/]: {Markup.Escape(string.Join(", ", options.Scenarios))}; load average {Markup.Escape(report.Machine.LoadAverage)}");
        await using (var ctx = new BenchContext(options, console))
        {
            foreach (var name in options.Scenarios)
            {
                var load = MachineInfo.LoadAverage1();
                var probeMs = SpeedProbe.MedianMs();
                var cpuBefore = ProcFs.MachineCpu();
                var started = Stopwatch.GetTimestamp();
                console.Write(new Rule($"[yellow]{Markup.Escape(name)}[/]").LeftJustified());
                ScenarioResult result;
                try
                {
                    result = await Scenarios[name](ctx);
                }
                catch (Exception ex) when (!options.ThrowOnFailure)
                {
                    // One failed scenario still leaves the others' numbers.
                    console.MarkupLine($"[red]{Markup.Escape(name)} failed: {Markup.Escape(ex.Message)}[/]");
                    result = new ScenarioResult(name, "failed");
                    result.Notes.Add($"The scenario failed: {ex.GetType().Name}: {ex.Message}");
                }

                result.Notes.AddRange(ctx.SystemNotes.Where(n => !result.Notes.Contains(n)));
                if (options.SqliteSynchronous is not null)
                {
                    result.Parameters["state.sqlite synchronous"] = options.SqliteSynchronous;
                }

                result.LoadBefore = load;
                result.LoadAfter = MachineInfo.LoadAverage1();
                result.ProbeMs = probeMs;
                result.StealPercent = cpuBefore is not null && ProcFs.MachineCpu() is { } cpuAfter ? cpuAfter.StealPercentSince(cpuBefore) : null;
                result.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                report.Scenarios.Add(result);
            }
        }

        ReportWriters.Console(report, console);
        if (!string.IsNullOrEmpty(options.OutputFolder))
        {
            foreach (var file in ReportWriters.WriteAll(report, options.OutputFolder))
            {
                console.MarkupLine($"wrote [link]{Markup.Escape(file)}[/]");
            }
        }

        if (options.UpdateDocs)
        {
            UpdateDocs(report, console);
        }

        return report;
    }

    /// <summary>Rewrites each measured scenario's section of docs/benchmarks.md (and its plot in docs/benchmarks/).</summary>
    public static void UpdateDocs(BenchReport report, IAnsiConsole console, string? docsFolder = null)
    {
        var docs = docsFolder ?? Path.Combine(RepoPaths.Root, "docs");
        System.IO.Directory.CreateDirectory(Path.Combine(docs, "benchmarks"));
        foreach (var scenario in report.Scenarios.Where(s => s.Series.Count > 0))
        {
            var single = new BenchReport { Machine = report.Machine, Command = report.Command, Target = report.Target, StartedAt = report.StartedAt };
            single.Scenarios.Add(scenario);
            var svg = $"benchmarks/{scenario.Name}.svg";
            var hasPlot = scenario.Series.Any(s => s.Latency is { Count: > 0 });
            if (hasPlot)
            {
                File.WriteAllText(Path.Combine(docs, svg), ReportWriters.Svg(single));
            }

            DocsUpdater.Update(Path.Combine(docs, "benchmarks.md"), scenario.Name, ReportWriters.Markdown(single, hasPlot ? svg : null));
        }

        console.MarkupLine($"updated [link]{Markup.Escape(Path.Combine(docs, "benchmarks.md"))}[/]");
    }
}
