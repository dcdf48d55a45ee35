namespace Chat.ServiceDefaults.RateLimiting;

/// <summary>
/// One named limit (configuration: <c>{Section}:{Name}:Burst</c>, <c>PerSecond</c>, <c>Shared</c>).
/// Local policies are token buckets: <see cref="Burst"/> calls at once, refilled at
/// <see cref="PerSecond"/>. Shared policies count in Dapr state, in fixed windows of
/// <c>Burst / PerSecond</c> seconds allowing <see cref="Burst"/> calls each, so every instance
/// of the app draws from the same allowance.
/// </summary>
public sealed class RateLimitPolicy
{
    /// <summary>Calls allowed at once (bucket size, or calls per shared window).</summary>
    public int Burst { get; set; } = 10;

    /// <summary>Long-run calls per second.</summary>
    public double PerSecond { get; set; } = 1;

    /// <summary>Counted in Dapr state across instances (one state round trip per call) instead of in memory.</summary>
    public bool Shared { get; set; }

    /// <summary>The shared window: the time a full burst takes to earn back.</summary>
    public TimeSpan Window => TimeSpan.FromSeconds(Math.Max(1, Burst / PerSecond));

    /// <summary>Throws when the numbers make no limit.</summary>
    public void Validate(string name)
    {
        if (Burst < 1 || !(PerSecond > 0) || double.IsInfinity(PerSecond))
        {
            throw new InvalidOperationException($"Rate limit '{name}': Burst must be at least 1 and PerSecond a positive number (got {Burst}, {PerSecond}).");
        }
    }
}

/// <summary>The answer of a limiter: allowed, or how long until the next call would be.</summary>
public readonly record struct RateDecision(bool Allowed, TimeSpan RetryAfter)
{
    public static readonly RateDecision Allow = new(true, TimeSpan.Zero);

    public static RateDecision Deny(TimeSpan retryAfter) =>
        new(false, retryAfter < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : retryAfter);
}
