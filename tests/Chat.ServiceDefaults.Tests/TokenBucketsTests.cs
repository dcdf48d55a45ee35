using Chat.ServiceDefaults.RateLimiting;

namespace Chat.ServiceDefaults.Tests;

/// <summary>The in-memory per-user limiter: lazy refill from timestamps, retry-after, and idle eviction.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "Security")]
public sealed class TokenBucketsTests
{
    [Fact]
    public void A_burst_passes_then_calls_are_refused_with_the_time_until_the_next_token()
    {
        var time = new ManualTime();
        var buckets = new TokenBuckets(new RateLimitPolicy { Burst = 3, PerSecond = 2 }, time);

        Assert.All(Enumerable.Range(0, 3), _ => Assert.True(buckets.TryTake("alice").Allowed));
        var refused = buckets.TryTake("alice");
        Assert.False(refused.Allowed);
        Assert.InRange(refused.RetryAfter.TotalMilliseconds, 499, 501);

        // Other users have their own buckets.
        Assert.True(buckets.TryTake("bob").Allowed);

        time.Advance(TimeSpan.FromMilliseconds(250));
        var stillRefused = buckets.TryTake("alice");
        Assert.False(stillRefused.Allowed);
        Assert.InRange(stillRefused.RetryAfter.TotalMilliseconds, 249, 251);

        time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.True(buckets.TryTake("alice").Allowed);
        Assert.False(buckets.TryTake("alice").Allowed);
    }

    [Fact]
    public void Idle_buckets_are_evicted_once_full_again_and_a_new_bucket_behaves_the_same()
    {
        var time = new ManualTime();
        var buckets = new TokenBuckets(new RateLimitPolicy { Burst = 2, PerSecond = 1 }, time);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(buckets.TryTake("user" + i).Allowed);
        }

        buckets.TryTake("busy");
        buckets.TryTake("busy");
        Assert.Equal(10_001, buckets.Count);

        // Not yet refilled: nothing may be dropped (that would hand out a fresh burst).
        buckets.Sweep();
        Assert.Equal(10_001, buckets.Count);

        time.Advance(TimeSpan.FromSeconds(1.5));
        buckets.Sweep();
        Assert.Equal(1, buckets.Count); // "busy" had 0 tokens and has 1.5 of 2 now: kept.
        Assert.True(buckets.TryTake("busy").Allowed);
        Assert.False(buckets.TryTake("busy").Allowed);

        time.Advance(TimeSpan.FromSeconds(5));
        buckets.Sweep();
        Assert.Equal(0, buckets.Count);
        Assert.True(buckets.TryTake("busy").Allowed);
        Assert.True(buckets.TryTake("busy").Allowed);
        Assert.False(buckets.TryTake("busy").Allowed);
    }

    [Fact]
    public void The_sweep_runs_by_itself_when_keys_keep_coming()
    {
        var time = new ManualTime();
        var buckets = new TokenBuckets(new RateLimitPolicy { Burst = 1, PerSecond = 1 }, time);
        for (var i = 0; i < 1000; i++)
        {
            buckets.TryTake("old" + i);
        }

        time.Advance(TimeSpan.FromMinutes(1));
        buckets.TryTake("new"); // past the sweep interval: schedules a sweep on the thread pool
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (buckets.Count > 1 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        Assert.Equal(1, buckets.Count);
    }

    [Fact]
    public void Concurrent_takes_never_pass_more_than_the_burst()
    {
        var time = new ManualTime();
        var buckets = new TokenBuckets(new RateLimitPolicy { Burst = 100, PerSecond = 1 }, time);
        var allowed = 0;
        Parallel.For(0, 1000, _ =>
        {
            if (buckets.TryTake("alice").Allowed)
            {
                Interlocked.Increment(ref allowed);
            }
        });
        Assert.Equal(100, allowed);
    }

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = TimeSpan.FromDays(1).Ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(GetTimestamp());

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
