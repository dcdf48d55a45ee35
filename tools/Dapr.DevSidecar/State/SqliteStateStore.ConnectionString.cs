using System.Text.RegularExpressions;
using Dapr.DevSidecar.Components;
using Microsoft.Data.Sqlite;

namespace Dapr.DevSidecar.State;

/// <summary>Reading the component's <c>connectionString</c>: the file (or memory) and its pragmas.</summary>
public sealed partial class SqliteStateStore
{
    /// <summary>
    /// components-contrib accepts a file path, a <c>file:</c> URI (of its query options, only
    /// <c>_pragma</c> matters here: see <see cref="ParsePragmas"/>) or <c>:memory:</c>.
    /// </summary>
    private static (string Path, bool IsMemory) ParseConnectionString(string value)
    {
        var text = value.Trim();
        if (text.StartsWith("Data Source=", StringComparison.OrdinalIgnoreCase))
        {
            text = new SqliteConnectionStringBuilder(text).DataSource;
        }

        var query = "";
        if (text.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            text = text[5..];
            var q = text.IndexOf('?', StringComparison.Ordinal);
            if (q >= 0)
            {
                query = text[(q + 1)..];
                text = text[..q];
            }

            text = Uri.UnescapeDataString(text);
        }

        var memory = text is ":memory:" or "" || query.Contains("mode=memory", StringComparison.OrdinalIgnoreCase);
        return (text, memory);
    }

    /// <summary>
    /// The <c>_pragma=name(value)</c> options of a <c>file:</c> URI, which daprd hands to its driver
    /// as per-connection pragmas (e.g. <c>_pragma=synchronous(normal)</c>). Like daprd, busy_timeout,
    /// journal_mode and foreign_keys are refused: they have their own metadata or are fixed.
    /// </summary>
    private static List<(string Name, string Value)> ParsePragmas(string connection, string sourceFile)
    {
        var result = new List<(string, string)>();
        var q = connection.IndexOf('?', StringComparison.Ordinal);
        if (!connection.TrimStart().StartsWith("file:", StringComparison.OrdinalIgnoreCase) || q < 0)
        {
            return result;
        }

        foreach (var part in connection[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0 || !part[..eq].Equals("_pragma", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var text = Uri.UnescapeDataString(part[(eq + 1)..]).Trim();
            var match = Pragma().Match(text);
            if (!match.Success)
            {
                throw new ComponentLoadException(sourceFile, "spec.metadata[connectionString]", $"'_pragma={text}' is not of the form name(value)");
            }

            var name = match.Groups[1].Value.ToLowerInvariant();
            if (name is "busy_timeout" or "journal_mode" or "foreign_keys")
            {
                throw new ComponentLoadException(sourceFile, "spec.metadata[connectionString]",
                    $"found forbidden option '_pragma={name}' in the connection string" + (name switch
                    {
                        "busy_timeout" => "; use the busyTimeout metadata property instead",
                        "journal_mode" => "; use the disableWAL metadata property instead",
                        _ => "",
                    }));
            }

            result.Add((name, match.Groups[2].Value));
        }

        return result;
    }

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"^([a-zA-Z_][a-zA-Z0-9_]*)\(([a-zA-Z0-9_-]+)\)$")]
    private static partial Regex Pragma();
}
