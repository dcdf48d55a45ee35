using System.Diagnostics;
using HdrHistogram;

namespace Chat.Bench.Reporting;

/// <summary>A thread-safe latency recorder (microseconds, 3 significant digits, up to 10 minutes).</summary>
public sealed class LatencyRecorder
{
    private readonly LongConcurrentHistogram _histogram = new(1, 600_000_000, 3);

    /// <summary>Records the time since a <see cref="Stopwatch.GetTimestamp"/> value.</summary>
    public void RecordSince(long startTimestamp) => Record(Stopwatch.GetElapsedTime(startTimestamp));

    public void Record(TimeSpan elapsed) => _histogram.RecordValue(Math.Clamp((long)(elapsed.Ticks / 10.0), 1, 600_000_000));

    public long Count => _histogram.TotalCount;

    /// <summary>The percentiles, in milliseconds.</summary>
    public Percentiles Snapshot()
    {
        if (_histogram.TotalCount == 0)
        {
            return new Percentiles(0, 0, 0, 0, 0, 0, 0);
        }

        double Ms(double p) => _histogram.GetValueAtPercentile(p) / 1000.0;
        return new Percentiles(_histogram.TotalCount, Ms(50), Ms(90), Ms(99), Ms(99.9), _histogram.GetMaxValue() / 1000.0, _histogram.GetMean() / 1000.0);
    }
}

/// <summary>Latency percentiles in milliseconds.</summary>
public sealed record Percentiles(long Count, double P50, double P90, double P99, double P999, double Max, double Mean)
{
    /// <summary>True when the percentiles are in order (p50 ≤ p90 ≤ p99 ≤ p99.9 ≤ max).</summary>
    public bool Ordered => P50 <= P90 && P90 <= P99 && P99 <= P999 && P999 <= Max;
}
