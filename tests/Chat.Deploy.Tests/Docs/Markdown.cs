using System.Text.RegularExpressions;

namespace Chat.Deploy.Tests.Docs;

/// <summary>Just enough Markdown reading for the docs checks: sections, tables, code spans, fenced blocks.</summary>
public sealed partial class Markdown(string path)
{
    public string Path { get; } = path;

    public string Text { get; } = File.ReadAllText(System.IO.Path.Combine(Repo.Root, path));

    /// <summary>The text of the section under the heading <paramref name="heading"/>, up to the next heading of any level.</summary>
    public string Section(string heading)
    {
        var lines = Text.Split('\n');
        var start = Array.FindIndex(lines, l => l.TrimEnd() == heading);
        Assert.True(start >= 0, $"{Path} has no heading '{heading}'");
        var end = Array.FindIndex(lines, start + 1, l => l.StartsWith('#'));
        return string.Join('\n', lines[(start + 1)..(end < 0 ? lines.Length : end)]);
    }

    /// <summary>The body rows of the first table in <paramref name="text"/>, as trimmed cells.</summary>
    public static List<string[]> Table(string text) =>
        text.Split('\n')
            .Where(l => l.TrimStart().StartsWith('|'))
            .Skip(2) // header and separator
            .Select(l => l.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray())
            .ToList();

    /// <summary>The first fenced block of <paramref name="language"/>.</summary>
    public string Fenced(string language)
    {
        var start = Text.IndexOf("```" + language + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"{Path} has no ```{language} block");
        start += language.Length + 4;
        return Text[start..Text.IndexOf("```", start, StringComparison.Ordinal)];
    }

    /// <summary>Every code span's text in <paramref name="text"/>.</summary>
    public static IEnumerable<string> CodeSpans(string text) => CodeSpan().Matches(text).Select(m => m.Groups[1].Value);

    /// <summary>The words of <paramref name="text"/> that are one of <paramref name="names"/> (code spans or plain).</summary>
    public static HashSet<string> NamesIn(string text, IEnumerable<string> names) =>
        names.Where(n => Regex.IsMatch(text, $@"(?<![\w-]){Regex.Escape(n)}(?![\w-])")).ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex("`([^`\n]+)`")]
    private static partial Regex CodeSpan();
}
