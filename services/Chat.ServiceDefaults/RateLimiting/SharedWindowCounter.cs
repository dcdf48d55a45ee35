using System.Globalization;
using Dapr;
using Dapr.Client;
using Grpc.Core;

namespace Chat.ServiceDefaults.RateLimiting;

/// <summary>
/// Fixed-window call counters in a Dapr state store, shared by every instance of an app:
/// key <c>ratelimit:{policy}:{key}:{window}</c>, created by a first write, raised under its
/// ETag, and gone with the store's TTL once its window is over.
/// </summary>
public sealed class SharedWindowCounter(DaprClient dapr, string storeName, TimeProvider time)
{
    private const int MaxAttempts = 8;
    private static readonly StateOptions Guarded = new() { Concurrency = ConcurrencyMode.FirstWrite, Consistency = ConsistencyMode.Strong };

    /// <summary>Counts one call; null when the store could not be reached (the caller decides what then).</summary>
    public async ValueTask<RateDecision?> TryTakeAsync(string policyName, RateLimitPolicy policy, string key, CancellationToken ct)
    {
        var windowMs = (long)policy.Window.TotalMilliseconds;
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var window = nowMs / windowMs;
        var untilNext = TimeSpan.FromMilliseconds(((window + 1) * windowMs) - nowMs);
        var stateKey = $"ratelimit:{policyName}:{key}:{window.ToString(CultureInfo.InvariantCulture)}";
        var metadata = DaprStateMetadata.Ttl(policy.Window + TimeSpan.FromSeconds(1));
        try
        {
            for (var attempt = 0; attempt < MaxAttempts; attempt++)
            {
                var (counter, etag) = await dapr.GetStateAndETagAsync<WindowCount?>(storeName, stateKey, ConsistencyMode.Strong, cancellationToken: ct);
                if (counter is null || string.IsNullOrEmpty(etag))
                {
                    try
                    {
                        await dapr.SaveStateAsync(storeName, stateKey, new WindowCount(1), Guarded, metadata, ct);
                        return RateDecision.Allow;
                    }
                    catch (DaprException ex) when (ex.InnerException is RpcException { StatusCode: StatusCode.Aborted })
                    {
                        continue; // Another instance created it first: count on top of theirs.
                    }
                }

                if (counter.Count >= policy.Burst)
                {
                    return RateDecision.Deny(untilNext);
                }

                if (await dapr.TrySaveStateAsync(storeName, stateKey, counter with { Count = counter.Count + 1 }, etag, Guarded, metadata, ct))
                {
                    return RateDecision.Allow;
                }
            }

            // Only one key hammered from many places at once gets here: that is what the limit is for.
            return RateDecision.Deny(TimeSpan.FromMilliseconds(100));
        }
        catch (DaprException)
        {
            return null;
        }
    }

    /// <summary>The stored counter.</summary>
    public sealed record WindowCount(int Count);
}
