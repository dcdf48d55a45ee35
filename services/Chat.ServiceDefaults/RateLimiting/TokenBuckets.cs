using System.Collections.Concurrent;

namespace Chat.ServiceDefaults.RateLimiting;

/// <summary>
/// In-memory token buckets, one per key, with no timers: a bucket's tokens are computed from
/// the time of its last use when it is next used. A bucket that has refilled completely is
/// the same as a new one, so such buckets are dropped by an occasional sweep (at most one
/// running, on the thread pool): memory follows the active keys, not every key ever seen.
/// Taking a token is one dictionary lookup and one uncontended lock, with no allocation once
/// the key's bucket exists.
/// </summary>
public sealed class TokenBuckets
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly double _capacity;
    private readonly double _tokensPerTick;
    private readonly long _sweepEveryTicks;
    private long _nextSweep;
    private int _sweeping;

    public TokenBuckets(RateLimitPolicy policy, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate(nameof(TokenBuckets));
        _time = time ?? TimeProvider.System;
        _capacity = policy.Burst;
        _tokensPerTick = policy.PerSecond / _time.TimestampFrequency;
        // Sweep about as often as an idle bucket takes to refill, but not more than every 5 s.
        var refillTicks = _capacity / _tokensPerTick;
        _sweepEveryTicks = (long)Math.Max(refillTicks, 5.0 * _time.TimestampFrequency);
        _nextSweep = _time.GetTimestamp() + _sweepEveryTicks;
    }

    /// <summary>Buckets held now (active keys, plus idle ones until the next sweep).</summary>
    public int Count => _buckets.Count;

    /// <summary>Takes a token from <paramref name="key"/>'s bucket if it has one.</summary>
    public RateDecision TryTake(string key)
    {
        var now = _time.GetTimestamp();
        RateDecision decision;
        while (true)
        {
            var bucket = _buckets.GetOrAdd(key, static (_, self) => new Bucket(self._capacity, self._time.GetTimestamp()), this);
            if (bucket.TryTake(now, _capacity, _tokensPerTick, out decision))
            {
                break;
            }

            // The sweep retired this bucket between our lookup and our lock: use a fresh one.
        }

        if (!decision.Allowed)
        {
            decision = RateDecision.Deny(TimeSpan.FromSeconds(decision.RetryAfter.Ticks / (double)_time.TimestampFrequency));
        }

        if (now >= Volatile.Read(ref _nextSweep) && Interlocked.CompareExchange(ref _sweeping, 1, 0) == 0)
        {
            Volatile.Write(ref _nextSweep, now + _sweepEveryTicks);
            ThreadPool.UnsafeQueueUserWorkItem(static self => self.Sweep(), this, preferLocal: false);
        }

        return decision;
    }

    /// <summary>Drops every bucket that is full again (exposed for tests; runs by itself otherwise).</summary>
    public void Sweep()
    {
        try
        {
            var now = _time.GetTimestamp();
            foreach (var (key, bucket) in _buckets)
            {
                if (bucket.TryRetireIfFull(now, _capacity, _tokensPerTick))
                {
                    _buckets.TryRemove(new KeyValuePair<string, Bucket>(key, bucket));
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private sealed class Bucket(double tokens, long last)
    {
        private readonly Lock _gate = new();
        private double _tokens = tokens;
        private long _last = last;
        private bool _retired;

        public bool TryTake(long now, double capacity, double perTick, out RateDecision decision)
        {
            lock (_gate)
            {
                if (_retired)
                {
                    decision = default;
                    return false;
                }

                Refill(now, capacity, perTick);
                if (_tokens >= 1)
                {
                    _tokens -= 1;
                    decision = RateDecision.Allow;
                }
                else
                {
                    // Timestamp ticks until one whole token; converted to time by the caller.
                    decision = new RateDecision(false, TimeSpan.FromTicks((long)Math.Ceiling((1 - _tokens) / perTick)));
                }

                return true;
            }
        }

        public bool TryRetireIfFull(long now, double capacity, double perTick)
        {
            lock (_gate)
            {
                Refill(now, capacity, perTick);
                _retired = _tokens >= capacity;
                return _retired;
            }
        }

        private void Refill(long now, double capacity, double perTick)
        {
            if (now > _last)
            {
                _tokens = Math.Min(capacity, _tokens + (now - _last) * perTick);
                _last = now;
            }
        }
    }
}
