using System.Globalization;
using System.Text.RegularExpressions;

namespace Dapr.DevSidecar.Components;

/// <summary>
/// Durations in component metadata as daprd reads them: Go duration strings (<c>500ms</c>,
/// <c>5s</c>, <c>1h30m</c>) or a bare number, which means seconds.
/// </summary>
public static partial class MetadataDuration
{
    [GeneratedRegex(@"^(?:(?<n>\d+(?:\.\d+)?)(?<u>ns|us|µs|ms|s|m|h))+$", RegexOptions.CultureInvariant)]
    private static partial Regex GoDuration();

    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        text = text.Trim();
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            value = TimeSpan.FromSeconds(seconds);
            return seconds >= 0;
        }

        var match = GoDuration().Match(text);
        if (!match.Success)
        {
            return false;
        }

        var numbers = match.Groups["n"].Captures;
        var units = match.Groups["u"].Captures;
        for (var i = 0; i < numbers.Count; i++)
        {
            var n = double.Parse(numbers[i].Value, CultureInfo.InvariantCulture);
            value += units[i].Value switch
            {
                "ns" => TimeSpan.FromTicks((long)(n / 100)),
                "us" or "µs" => TimeSpan.FromMicroseconds(n),
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                _ => TimeSpan.FromHours(n),
            };
        }

        return true;
    }

    /// <summary>Reads duration metadata <paramref name="key"/>, or <paramref name="fallback"/>; bad values stop start-up.</summary>
    public static TimeSpan Get(ComponentDefinition def, string key, TimeSpan fallback)
    {
        if (def.Get(key) is not { } text)
        {
            return fallback;
        }

        return TryParse(text, out var value)
            ? value
            : throw new ComponentLoadException(def.SourceFile, $"spec.metadata[{key}]",
                $"'{text}' is not a duration (use e.g. 500ms, 5s, 1m, or a number of seconds)");
    }
}
