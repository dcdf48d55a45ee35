using System.Globalization;

namespace Dapr.DevSidecar.Actors;

/// <summary>
/// A reminder or timer period as daprd reads it: an ISO 8601 duration (<c>P1DT2H</c>), optionally
/// with repetitions (<c>R5/PT1S</c>), or a Go duration (<c>1h2m3s4ms</c>, the form the .NET SDK
/// writes as <c>0h0m5s0ms</c>). <see cref="Repetitions"/> is -1 for "until removed".
/// </summary>
public readonly record struct ActorPeriod(int Years, int Months, int Days, TimeSpan Duration, int Repetitions)
{
    /// <summary>True when the period makes the reminder fire again after a tick.</summary>
    public bool Repeats => Repetitions != 0 && (Years != 0 || Months != 0 || Days != 0 || Duration != TimeSpan.Zero);

    /// <summary>The tick after <paramref name="time"/>.</summary>
    public DateTimeOffset Following(DateTimeOffset time) => time.AddYears(Years).AddMonths(Months).AddDays(Days).Add(Duration);
}

/// <summary>Dapr's duration and time formats for actor reminders and timers (dapr/kit <c>time</c> semantics).</summary>
public static class ActorDurations
{
    /// <summary>A period (empty = fire once). Throws <see cref="FormatException"/> on anything else.</summary>
    public static ActorPeriod ParsePeriod(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return new ActorPeriod(0, 0, 0, TimeSpan.Zero, -1);
        }

        var period = TryParseIso(value) ?? (TryParseGo(value) is { } d ? new ActorPeriod(0, 0, 0, d, -1) : (ActorPeriod?)null)
            ?? throw new FormatException($"unsupported duration format: {value}");
        if (period.Repetitions == 0)
        {
            throw new FormatException($"period '{value}' has zero repetitions");
        }

        return period;
    }

    /// <summary>
    /// A point in time: an ISO 8601 or Go duration added to <paramref name="from"/>, or an RFC 3339
    /// time. Repetitions are refused, as daprd refuses them here.
    /// </summary>
    public static DateTimeOffset ParseTime(string value, DateTimeOffset from)
    {
        if (TryParseIso(value) is { } iso)
        {
            if (iso.Repetitions != -1)
            {
                throw new FormatException($"repetitions are not allowed: {value}");
            }

            return iso.Following(from);
        }

        if (TryParseGo(value) is { } duration)
        {
            return from + duration;
        }

        if (DateTimeOffset.TryParseExact(value, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
        {
            return time;
        }

        throw new FormatException($"unsupported time/duration format: {value}");
    }

    /// <summary>A Go duration (<c>time.ParseDuration</c>): decimal numbers with units ns, us, µs, ms, s, m, h; an optional sign.</summary>
    public static TimeSpan? TryParseGo(string value)
    {
        var s = value.AsSpan();
        var negative = false;
        if (s.Length > 0 && (s[0] == '-' || s[0] == '+'))
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s.SequenceEqual("0"))
        {
            return TimeSpan.Zero;
        }

        if (s.IsEmpty)
        {
            return null;
        }

        decimal ticks = 0;
        while (!s.IsEmpty)
        {
            var n = 0;
            while (n < s.Length && (char.IsAsciiDigit(s[n]) || s[n] == '.'))
            {
                n++;
            }

            if (n == 0 || !decimal.TryParse(s[..n], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return null;
            }

            s = s[n..];
            var u = 0;
            while (u < s.Length && !char.IsAsciiDigit(s[u]) && s[u] != '.')
            {
                u++;
            }

            decimal? unit = s[..u] switch
            {
                "ns" => 0.01m,
                "us" or "µs" or "μs" => 10m,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                _ => null,
            };
            if (unit is null)
            {
                return null;
            }

            ticks += number * unit.Value;
            s = s[u..];
        }

        var span = TimeSpan.FromTicks((long)ticks);
        return negative ? -span : span;
    }

    /// <summary>An ISO 8601 duration, optionally <c>R{n}/</c>-prefixed (<c>R{n}/</c> alone means repeat n times with no period).</summary>
    public static ActorPeriod? TryParseIso(string value)
    {
        if (value.Length < 2)
        {
            return null;
        }

        var i = 0;
        var repetitions = -1;
        if (value[0] == 'R')
        {
            var slash = value.IndexOf('/', StringComparison.Ordinal);
            var end = slash < 0 ? value.Length : slash;
            if (end < 2 || !int.TryParse(value.AsSpan(1, end - 1), NumberStyles.None, CultureInfo.InvariantCulture, out repetitions))
            {
                return null;
            }

            i = end + 1;
            if (i >= value.Length)
            {
                return new ActorPeriod(0, 0, 0, TimeSpan.Zero, repetitions);
            }
        }

        if (value[i] != 'P')
        {
            return null;
        }

        i++;
        int years = 0, months = 0, days = 0;
        var duration = TimeSpan.Zero;
        var inTime = false;
        var start = i;
        for (; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsAsciiDigit(c))
            {
                continue;
            }

            if (c == 'T')
            {
                if (start != i)
                {
                    return null;
                }

                inTime = true;
                start = i + 1;
                continue;
            }

            if (start == i || !int.TryParse(value.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                return null;
            }

            switch (c)
            {
                case 'Y' when !inTime: years = n; break;
                case 'W' when !inTime: days += n * 7; break;
                case 'D' when !inTime: days += n; break;
                case 'M' when !inTime: months = n; break;
                case 'H' when inTime: duration += TimeSpan.FromHours(n); break;
                case 'M' when inTime: duration += TimeSpan.FromMinutes(n); break;
                case 'S' when inTime: duration += TimeSpan.FromSeconds(n); break;
                default: return null;
            }

            start = i + 1;
        }

        return start == value.Length ? new ActorPeriod(years, months, days, duration, repetitions) : null;
    }
}
