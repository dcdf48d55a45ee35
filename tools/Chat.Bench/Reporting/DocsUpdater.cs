using System.Text;

namespace Chat.Bench.Reporting;

/// <summary>
/// Keeps docs/benchmarks.md: the text between <c>&lt;!-- bench:{key}:start --&gt;</c> and
/// <c>&lt;!-- bench:{key}:end --&gt;</c> is replaced by the new results; the rest of the file is left alone.
/// </summary>
public static class DocsUpdater
{
    public static void Update(string docPath, string key, string markdown)
    {
        var start = $"<!-- bench:{key}:start -->";
        var end = $"<!-- bench:{key}:end -->";
        var text = File.Exists(docPath) ? File.ReadAllText(docPath) : "# Benchmarks\n\n";
        var block = new StringBuilder().AppendLine(start).AppendLine(markdown.TrimEnd()).Append(end).ToString();
        var i = text.IndexOf(start, StringComparison.Ordinal);
        var j = text.IndexOf(end, StringComparison.Ordinal);
        text = i >= 0 && j > i
            ? string.Concat(text.AsSpan(0, i), block, text.AsSpan(j + end.Length))
            : text.TrimEnd() + "\n\n" + block + "\n";
        File.WriteAllText(docPath, text);
    }
}
