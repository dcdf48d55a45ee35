using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Chat.Gateway.Hubs;

/// <summary>Per-user send limit settings (section <c>Gateway:SendRate</c>).</summary>
public sealed class SendRateOptions
{
    /// <summary>Bucket size: sends allowed in a burst.</summary>
    public int Burst { get; set; } = 30;

    /// <summary>Tokens added per <see cref="Period"/>.</summary>
    public int PerSecond { get; set; } = 10;

    /// <summary>How often <see cref="PerSecond"/> tokens are added (one second unless configured).</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// A token bucket per user on this gateway instance. A user connected to several instances
/// gets one bucket per instance, which bounds the total by instances × rate.
/// </summary>
public sealed class SendRateLimiter(IOptions<SendRateOptions> options) : IDisposable
{
    private readonly ConcurrentDictionary<string, TokenBucketRateLimiter> _buckets = new(StringComparer.Ordinal);

    /// <summary>True when the user may send now (and takes a token).</summary>
    public bool TryAcquire(string userId)
    {
        var bucket = _buckets.GetOrAdd(userId, _ => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = options.Value.Burst,
            TokensPerPeriod = options.Value.PerSecond,
            ReplenishmentPeriod = options.Value.Period,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
        using var lease = bucket.AttemptAcquire();
        return lease.IsAcquired;
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets.Values)
        {
            bucket.Dispose();
        }
    }
}
