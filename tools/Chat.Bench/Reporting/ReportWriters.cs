using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace Chat.Bench.Reporting;

/// <summary>Writes a report as a console table, JSON, markdown and an SVG plot.</summary>
public static class ReportWriters
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes report.json, report.md and latency.svg into <paramref name="folder"/>; returns their paths.</summary>
    public static IReadOnlyList<string> WriteAll(BenchReport report, string folder)
    {
        System.IO.Directory.CreateDirectory(folder);
        var json = Path.Combine(folder, "report.json");
        var md = Path.Combine(folder, "report.md");
        var svg = Path.Combine(folder, "latency.svg");
        File.WriteAllText(json, JsonSerializer.Serialize(report, Json));
        File.WriteAllText(md, Markdown(report, "latency.svg"));
        File.WriteAllText(svg, Svg(report));
        return [json, md, svg];
    }

    public static void Console(BenchReport report, IAnsiConsole console)
    {
        foreach (var scenario in report.Scenarios)
        {
            var table = new Table().Title($"[bold]{Markup.Escape(scenario.Name)}[/]: {Markup.Escape(scenario.Description)}").Border(TableBorder.Rounded);
            table.AddColumn("series");
            table.AddColumn(new TableColumn("n").RightAligned());
            foreach (var col in new[] { "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms" })
            {
                table.AddColumn(new TableColumn(col).RightAligned());
            }

            table.AddColumn("metrics");
            foreach (var s in scenario.Series)
            {
                var l = s.Latency;
                table.AddRow(
                    Markup.Escape(s.Name),
                    l?.Count.ToString(Inv) ?? "",
                    F(l?.P50), F(l?.P90), F(l?.P99), F(l?.P999), F(l?.Max),
                    Markup.Escape(string.Join(", ", s.Metrics.Select(m => $"{m.Key}={Num(m.Value)}"))));
            }

            console.Write(table);
            if (scenario.Processes.Count > 0)
            {
                var procs = new Table().Title($"CPU and RSS per process, {Markup.Escape(scenario.ProcessWindow ?? "")}").Border(TableBorder.Rounded);
                foreach (var col in ProcessColumns)
                {
                    procs.AddColumn(new TableColumn(col).RightAligned());
                }

                foreach (var p in scenario.Processes)
                {
                    procs.AddRow(ProcessCells(p).Select(Markup.Escape).ToArray());
                }

                console.Write(procs);
            }

            if (scenario.Intervals.Count > 0)
            {
                var rows = IntervalTable(scenario);
                var t = new Table().Title("per interval (by send time)").Border(TableBorder.Rounded);
                foreach (var col in rows[0])
                {
                    t.AddColumn(new TableColumn(Markup.Escape(col)).RightAligned());
                }

                foreach (var r in rows.Skip(1))
                {
                    t.AddRow(r.Select(Markup.Escape).ToArray());
                }

                console.Write(t);
            }

            foreach (var (k, v) in scenario.Ratios)
            {
                console.MarkupLine($"  ratio [blue]{Markup.Escape(k)}[/]: {Num(v)}");
            }

            foreach (var t in scenario.Targets)
            {
                console.MarkupLine($"  target {Markup.Escape(t.Target)}: {Markup.Escape(t.Measured)} {(t.Met ? "[green]met[/]" : "[red]missed[/]")}");
            }

            foreach (var n in scenario.Notes)
            {
                console.MarkupLine($"  [grey]{Markup.Escape(n)}[/]");
            }
        }
    }

    /// <summary>The results as markdown: one section per scenario.</summary>
    public static string Markdown(BenchReport report, string? svgName)
    {
        var sb = new StringBuilder();
        var m = report.Machine;
        sb.AppendLine(Inv, $"Run of {report.StartedAt:yyyy-MM-dd HH:mm} UTC, commit `{m.Commit}`, target: {report.Target}.");
        sb.AppendLine();
        sb.AppendLine(Inv, $"Machine: {m.Cores} cores ({m.Cpu}), {m.Memory} memory, {m.Os}, {m.DotNet}; load average at start {m.LoadAverage} (shared machine: other engineers' builds and tests run at the same time).");
        sb.AppendLine();
        sb.AppendLine("Command:");
        sb.AppendLine();
        sb.AppendLine("```");
        sb.AppendLine(report.Command);
        sb.AppendLine("```");
        sb.AppendLine();
        if (svgName is not null)
        {
            sb.AppendLine(Inv, $"![latency percentiles]({svgName})");
            sb.AppendLine();
        }

        foreach (var s in report.Scenarios)
        {
            sb.AppendLine(Inv, $"### {s.Name}: {s.Description}");
            sb.AppendLine();
            sb.AppendLine(Inv, $"Parameters: {string.Join(", ", s.Parameters.Select(p => $"{p.Key}={p.Value}"))}. Load average (1 min) before {s.LoadBefore:F2}, after {s.LoadAfter:F2}; took {s.Seconds:F0} s.{MachineSpeed(s)}");
            sb.AppendLine();
            sb.AppendLine("| series | n | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | other |");
            sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
            foreach (var series in s.Series)
            {
                var l = series.Latency;
                sb.AppendLine(Inv, $"| {series.Name} | {l?.Count.ToString(Inv) ?? ""} | {F(l?.P50)} | {F(l?.P90)} | {F(l?.P99)} | {F(l?.P999)} | {F(l?.Max)} | {string.Join(", ", series.Metrics.Select(x => $"{x.Key} {Num(x.Value)}"))} |");
            }

            sb.AppendLine();
            if (s.Processes.Count > 0)
            {
                sb.AppendLine(Inv, $"CPU (utime + stime from /proc/PID/stat, {ProcFsTicks()} ticks/s) and RSS per process, {s.ProcessWindow}:");
                sb.AppendLine();
                sb.AppendLine("| " + string.Join(" | ", ProcessColumns) + " |");
                sb.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", ProcessColumns.Length - 1)));
                foreach (var p in s.Processes)
                {
                    sb.AppendLine("| " + string.Join(" | ", ProcessCells(p)) + " |");
                }

                sb.AppendLine();
            }

            if (s.Intervals.Count > 0)
            {
                var rows = IntervalTable(s);
                sb.AppendLine("Per interval (messages by send time; RSS at the interval's end; CPU ms per message sent in it):");
                sb.AppendLine();
                sb.AppendLine("| " + string.Join(" | ", rows[0]) + " |");
                sb.AppendLine("|" + string.Concat(Enumerable.Repeat("---:|", rows[0].Length)));
                foreach (var r in rows.Skip(1))
                {
                    sb.AppendLine("| " + string.Join(" | ", r) + " |");
                }

                sb.AppendLine();
            }

            if (s.Ratios.Count > 0)
            {
                sb.AppendLine(Inv, $"Ratios: {string.Join("; ", s.Ratios.Select(r => $"{r.Key} = {Num(r.Value)}"))}.");
                sb.AppendLine();
            }

            foreach (var t in s.Targets)
            {
                sb.AppendLine(Inv, $"- Target {t.Target}: {t.Measured} — **{(t.Met ? "met" : "missed")}**");
            }

            foreach (var n in s.Notes)
            {
                sb.AppendLine(Inv, $"- {n}");
            }

            sb.AppendLine();
        }

        return sb.ToString();
    }

    /// <summary>A hand-written SVG: one panel per scenario, bars for p50/p90/p99/p99.9 of each series on a log scale.</summary>
    public static string Svg(BenchReport report)
    {
        var panels = report.Scenarios.Where(s => s.Series.Any(x => x.Latency is { Count: > 0 })).ToList();
        const int panelW = 620, panelH = 230, left = 70, top = 40, plotH = 150;
        var height = Math.Max(1, panels.Count) * panelH + 20;
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{panelW}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">");
        sb.AppendLine(Inv, $"<rect width=\"{panelW}\" height=\"{height}\" fill=\"white\"/>");
        string[] colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"];
        string[] labels = ["p50", "p90", "p99", "p99.9"];
        for (var i = 0; i < panels.Count; i++)
        {
            var scenario = panels[i];
            var y0 = i * panelH;
            var series = scenario.Series.Where(x => x.Latency is { Count: > 0 }).ToList();
            var max = series.Max(x => x.Latency!.P999);
            var decades = Math.Max(1, (int)Math.Ceiling(Math.Log10(Math.Max(max, 0.01) * 100)));
            double Y(double ms) => y0 + top + plotH - (Math.Log10(Math.Max(ms, 0.01) * 100) / decades * plotH);
            sb.AppendLine(Inv, $"<text x=\"10\" y=\"{y0 + 20}\" font-size=\"13\" font-weight=\"bold\">{Esc(scenario.Name)}: {Esc(scenario.Description)}</text>");
            for (var d = 0; d <= decades; d++)
            {
                var ms = Math.Pow(10, d) / 100;
                var y = Y(ms);
                sb.AppendLine(Inv, $"<line x1=\"{left}\" y1=\"{y:F1}\" x2=\"{panelW - 10}\" y2=\"{y:F1}\" stroke=\"#ddd\"/><text x=\"{left - 5}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{Num(ms)} ms</text>");
            }

            var groupW = (panelW - left - 20.0) / Math.Max(1, series.Count);
            for (var s = 0; s < series.Count; s++)
            {
                var l = series[s].Latency!;
                double[] values = [l.P50, l.P90, l.P99, l.P999];
                var barW = groupW * 0.8 / values.Length;
                for (var b = 0; b < values.Length; b++)
                {
                    var x = left + s * groupW + groupW * 0.1 + b * barW;
                    var y = Y(values[b]);
                    var h = y0 + top + plotH - y;
                    sb.AppendLine(Inv, $"<rect x=\"{x:F1}\" y=\"{y:F1}\" width=\"{barW - 1:F1}\" height=\"{Math.Max(h, 0.5):F1}\" fill=\"{colors[b]}\"><title>{Esc(series[s].Name)} {labels[b]} {Num(values[b])} ms</title></rect>");
                }

                sb.AppendLine(Inv, $"<text x=\"{left + s * groupW + groupW / 2:F1}\" y=\"{y0 + top + plotH + 15}\" text-anchor=\"middle\">{Esc(series[s].Name)}</text>");
            }

            for (var b = 0; b < labels.Length; b++)
            {
                sb.AppendLine(Inv, $"<rect x=\"{left + b * 70}\" y=\"{y0 + top + plotH + 25}\" width=\"10\" height=\"10\" fill=\"{colors[b]}\"/><text x=\"{left + b * 70 + 14}\" y=\"{y0 + top + plotH + 34}\">{labels[b]}</text>");
            }
        }

        sb.AppendLine("</svg>");
        return sb.ToString();
    }

    private static readonly string[] ProcessColumns = ["process", "pid", "CPU ms", "CPU ms/msg", "CPU %", "RSS MiB"];

    private static string[] ProcessCells(Infrastructure.ProcessUsage p) =>
        [p.Name, p.Pids.Length > 40 ? "…" : p.Pids, p.CpuMs.ToString("F0", Inv), p.CpuMsPerMessage.ToString("F3", Inv), p.CpuPercent.ToString("F1", Inv), p.RssMiB.ToString("F1", Inv)];

    private static long ProcFsTicks() => Infrastructure.ProcFs.ClockTicksPerSecond;

    /// <summary>Soak's interval rows: a header, then per interval its latency, each process's RSS and the servers' CPU per message.</summary>
    internal static List<string[]> IntervalTable(ScenarioResult s)
    {
        var names = s.Intervals.SelectMany(i => i.Processes.Select(p => p.Name)).Distinct().ToList();
        var header = new List<string> { "#", "from s", "sent", "p50 ms", "p99 ms", "p99.9 ms" };
        header.AddRange(names.Select(n => $"{n} RSS MiB"));
        header.AddRange(names.Select(n => $"{n} CPU ms/msg"));
        var rows = new List<string[]> { header.ToArray() };
        foreach (var i in s.Intervals)
        {
            var r = new List<string> { (i.Index + 1).ToString(Inv), i.FromSeconds.ToString("F0", Inv), i.Sent.ToString(Inv), F(i.Latency.P50), F(i.Latency.P99), F(i.Latency.P999) };
            r.AddRange(names.Select(n => i.Processes.FirstOrDefault(p => p.Name == n)?.RssMiB.ToString("F1", Inv) ?? ""));
            r.AddRange(names.Select(n => i.Processes.FirstOrDefault(p => p.Name == n)?.CpuMsPerMessage.ToString("F3", Inv) ?? ""));
            rows.Add(r.ToArray());
        }

        return rows;
    }

    private static string Esc(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    /// <summary>" Speed probe before … ms (…). CPU stolen by the hypervisor …%." with whichever of the two the scenario has (older reports have neither).</summary>
    internal static string MachineSpeed(ScenarioResult s) =>
        (s.ProbeMs is { } probe ? string.Create(Inv, $" Speed probe before {probe:F1} ms (fixed work; higher is a slower machine).") : "")
        + (s.StealPercent is { } steal ? string.Create(Inv, $" CPU stolen by the hypervisor {steal:F1}%.") : "");

    private static string F(double? v) => v is { } d ? d.ToString("F2", Inv) : "";

    public static string Num(double v) => Math.Abs(v) >= 100 ? v.ToString("F0", Inv) : Math.Abs(v) >= 1 ? v.ToString("F2", Inv) : v.ToString("G3", Inv);
}
