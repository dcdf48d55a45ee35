using System.Text.Json;
using Chat.Bench;
using Chat.Bench.Reporting;
using Spectre.Console;

namespace Chat.Bench.Tests;

/// <summary>
/// Issue 10: each scenario of the bench tool at a tiny size (seconds), so the tool cannot rot.
/// Checks that the report is sane (messages arrived, percentiles in order, files written, JSON
/// parses), never how fast anything was.
/// </summary>
[Trait("Area", "Bench")]
public sealed class BenchSmokeTests : IDisposable
{
    private readonly string _out = System.IO.Directory.CreateTempSubdirectory("chat-bench-smoke-").FullName;

    private static readonly IAnsiConsole Quiet = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(TextWriter.Null),
        Interactive = InteractionSupport.No,
        Ansi = AnsiSupport.No,
    });

    private async Task<(BenchReport Report, JsonDocument Json)> RunAsync(params string[] scenarios)
    {
        var report = await BenchRunner.RunAsync(BenchOptions.Quick(scenarios) with { OutputFolder = _out, Command = "smoke", ThrowOnFailure = true }, Quiet);
        Assert.Equal(scenarios, report.Scenarios.Select(s => s.Name));
        foreach (var s in report.Scenarios)
        {
            Assert.NotEmpty(s.Series);
            foreach (var series in s.Series.Where(x => x.Latency is not null))
            {
                Assert.True(series.Latency!.Count > 0, $"{s.Name}/{series.Name}: no samples");
                Assert.True(series.Latency.Ordered, $"{s.Name}/{series.Name}: percentiles out of order: {series.Latency}");
                Assert.True(series.Latency.P50 > 0, $"{s.Name}/{series.Name}: p50 is 0");
            }
        }

        var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "report.json")));
        Assert.Equal(scenarios.Length, json.RootElement.GetProperty("scenarios").GetArrayLength());
        Assert.Contains("<svg", await File.ReadAllTextAsync(Path.Combine(_out, "latency.svg")), StringComparison.Ordinal);
        Assert.Contains($"### {scenarios[0]}", await File.ReadAllTextAsync(Path.Combine(_out, "report.md")), StringComparison.Ordinal);
        return (report, json);
    }

    private static Series Named(ScenarioResult s, string prefix) => s.Series.First(x => x.Name.StartsWith(prefix, StringComparison.Ordinal));

    [Fact]
    public async Task Messaging_scenarios_deliver_and_compare_with_the_baselines()
    {
        var (report, _) = await RunAsync("latency", "fanout", "send", "sync", "reconnect", "soak");

        var latency = report.Scenarios[0];
        Assert.Equal(3, latency.Series.Count);
        foreach (var s in latency.Series)
        {
            Assert.True(s.Metrics["received"] > 0, $"{s.Name} received nothing");
            Assert.Equal(0, s.Metrics["errors"]);
        }

        Assert.True(latency.Ratios["p50 / relay p50"] > 0);
        Assert.Equal(6, latency.Targets.Count);
        Assert.Equal(latency.Series[0].Metrics["sent"], latency.Series[0].Metrics["acked+received ≤5 s after end"] + latency.Series[0].Metrics["missing 5 s after end"]);
        Assert.True(latency.Series[0].Metrics["delivered/s"] > 0);

        // The system is in the bench process here: one process row, with CPU spent.
        var bench = Assert.Single(latency.Processes);
        Assert.True(bench.CpuMs > 0 && bench.CpuMsPerMessage > 0 && bench.RssMiB > 10, bench.ToString());

        var fanout = report.Scenarios[1];
        Assert.Equal(3, Named(fanout, "ours: last member").Latency!.Count);
        Assert.Equal(3 * 7, Named(fanout, "ours: every member").Latency!.Count);
        Assert.True(Named(fanout, "ours: last member").Metrics["deliveries/s"] > 0);
        Assert.True(fanout.Ratios["group-send rate / relay"] > 0);

        var send = report.Scenarios[2];
        Assert.All(send.Series, s => Assert.True(s.Metrics["sends/s"] > 0, s.Name));
        Assert.All(send.Series, s => Assert.Equal(0, s.Metrics["errors"]));

        var sync = report.Scenarios[3];
        Assert.Equal(30, Named(sync, "ours: connect").Metrics["messages"]);

        var reconnect = report.Scenarios[4];
        Assert.Equal(0, Named(reconnect, "ours").Metrics["errors"]);
        Assert.Equal(6, Named(reconnect, "ours").Latency!.Count);

        // Soak at 30 msg/s for 3 s, reported per second: intervals with sends, RSS and a verdict (never asserted).
        var soak = report.Scenarios[5];
        Assert.InRange(soak.Intervals.Count, 3, 4);
        Assert.All(soak.Intervals, i => Assert.True(i.Processes.Single(p => p.Name.StartsWith("bench", StringComparison.Ordinal)).RssMiB > 10));
        Assert.True(soak.Intervals.Sum(i => i.Sent) == (long)soak.Series[0].Metrics["sent"]);
        Assert.True(soak.Intervals[0].Latency.Count > 0);
        Assert.Contains(soak.Notes, n => n.StartsWith("Verdict: ", StringComparison.Ordinal));
        Assert.Contains(soak.Targets, t => t.Target.StartsWith("soak: p99", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Per_hop_scenarios_measure_through_the_sidecar_and_without_it()
    {
        var (report, _) = await RunAsync("sidecar", "actors");

        var sidecar = report.Scenarios[0];
        Assert.Equal(8, sidecar.Series.Count);
        Assert.All(sidecar.Series, s => Assert.Equal(30, s.Latency!.Count));
        Assert.Contains("publish→deliver: added p50 ms", sidecar.Ratios.Keys);

        var actors = report.Scenarios[1];
        Assert.Equal(4, actors.Series.Count);
        Assert.All(actors.Series.Skip(1), s => Assert.True(s.Metrics["calls/s"] > 0, s.Name));
    }

    [Fact]
    public async Task Idle_measures_the_rss_of_each_server_process()
    {
        var (report, json) = await RunAsync("idle");

        var idle = report.Scenarios[0];
        Assert.Equal(["baseline: raw WebSocket", "baseline: SignalR relay hub", "ours: gateway"], idle.Series.Select(s => s.Name));
        Assert.All(idle.Series, s =>
        {
            Assert.Equal(40, s.Metrics["open"]);
            Assert.Equal(0, s.Metrics["errors"]);
            Assert.True(s.Metrics["RSS after MiB"] > 10, $"{s.Name}: RSS {s.Metrics["RSS after MiB"]} MiB is not a server's");
        });
        Assert.Equal(40, idle.Series[2].Metrics["hub connected"]);
        Assert.True(json.RootElement.GetProperty("scenarios")[0].GetProperty("targets").GetArrayLength() == 1);
    }

    [Fact]
    public void Docs_sections_are_replaced_in_place_and_others_kept()
    {
        var doc = Path.Combine(_out, "benchmarks.md");
        File.WriteAllText(doc, "# Benchmarks\n\nIntro stays.\n");
        DocsUpdater.Update(doc, "latency", "first");
        DocsUpdater.Update(doc, "fanout", "other");
        DocsUpdater.Update(doc, "latency", "second");
        var text = File.ReadAllText(doc);
        Assert.Contains("Intro stays.", text, StringComparison.Ordinal);
        Assert.Contains("second", text, StringComparison.Ordinal);
        Assert.DoesNotContain("first", text, StringComparison.Ordinal);
        Assert.Contains("other", text, StringComparison.Ordinal);
        Assert.True(text.IndexOf("bench:latency:start", StringComparison.Ordinal) < text.IndexOf("bench:fanout:start", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(_out, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
