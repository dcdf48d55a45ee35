using System.Collections.Concurrent;

namespace Chat.Domain.Tests;

[Trait("Category", "Unit")]
[Trait("Area", "Domain")]
public sealed class SnowflakeTests
{
    [Fact]
    public void Million_ids_from_several_threads_are_unique_and_each_thread_sees_them_increasing()
    {
        var generator = new SnowflakeIdGenerator(workerId: 7);
        const int threads = 4;
        const int perThread = 250_000;
        var all = new ConcurrentBag<long[]>();

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
        {
            var ids = new long[perThread];
            for (var i = 0; i < perThread; i++)
            {
                ids[i] = generator.Next().Value;
            }

            all.Add(ids);
        });

        foreach (var ids in all)
        {
            for (var i = 1; i < ids.Length; i++)
            {
                Assert.True(ids[i] > ids[i - 1], $"id {ids[i]} came after {ids[i - 1]} on one thread");
            }
        }

        var merged = all.SelectMany(x => x).ToArray();
        Assert.Equal(threads * perThread, merged.Length);
        Assert.Equal(merged.Length, merged.Distinct().Count());
        Assert.All(merged, id => Assert.Equal(7, new SnowflakeId(id).WorkerId));
    }

    [Fact]
    public void Sequential_ids_are_strictly_increasing_across_milliseconds()
    {
        var clock = new ManualClock(SnowflakeId.Epoch.AddDays(10));
        var generator = new SnowflakeIdGenerator(1, clock);
        var previous = generator.Next();
        for (var i = 0; i < 10_000; i++)
        {
            if (i % 1000 == 0)
            {
                clock.Advance(TimeSpan.FromMilliseconds(1));
            }

            var next = generator.Next();
            Assert.True(next > previous);
            previous = next;
        }
    }

    [Theory]
    [InlineData(0L, 0, 0)]
    [InlineData(1L, 1, 1)]
    [InlineData(SnowflakeId.MaxTimestamp, (int)SnowflakeId.MaxWorkerId, (int)SnowflakeId.MaxSequence)]
    [InlineData(123_456_789L, 513, 4000)]
    public void Bit_layout_round_trips(long timestamp, int worker, int sequence)
    {
        var id = SnowflakeId.Compose(timestamp, worker, sequence);
        Assert.Equal(timestamp, id.Timestamp);
        Assert.Equal(worker, id.WorkerId);
        Assert.Equal(sequence, id.Sequence);
        Assert.True(id.Value >= 0, "ids fit in 63 bits and stay positive");
        Assert.Equal((timestamp << 22) | ((long)worker << 12) | (long)sequence, id.Value);
    }

    [Fact]
    public void Compose_rejects_parts_out_of_range()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SnowflakeId.Compose(SnowflakeId.MaxTimestamp + 1, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SnowflakeId.Compose(0, 1024, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SnowflakeId.Compose(0, 0, 4096));
        Assert.Throws<ArgumentOutOfRangeException>(() => SnowflakeId.Compose(-1, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SnowflakeIdGenerator(1024));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SnowflakeIdGenerator(-1));
    }

    [Fact]
    public void Timestamp_is_the_clock_in_milliseconds_since_the_epoch()
    {
        var at = SnowflakeId.Epoch.AddMilliseconds(987_654_321);
        var id = new SnowflakeIdGenerator(3, new ManualClock(at)).Next();
        Assert.Equal(987_654_321, id.Timestamp);
        Assert.Equal(at, id.CreatedAt);
    }

    [Fact]
    public void A_worker_issues_4096_ids_per_millisecond_then_moves_to_the_next()
    {
        var clock = new ManualClock(SnowflakeId.Epoch.AddSeconds(5)) { AdvanceOnReadAfter = 4096 + 1 };
        var generator = new SnowflakeIdGenerator(2, clock);
        var ids = Enumerable.Range(0, 4097).Select(_ => generator.Next()).ToList();

        Assert.All(ids.Take(4096), id => Assert.Equal(5000, id.Timestamp));
        Assert.Equal(Enumerable.Range(0, 4096), ids.Take(4096).Select(i => i.Sequence));
        Assert.Equal(5001, ids[4096].Timestamp);
        Assert.Equal(0, ids[4096].Sequence);
    }

    [Fact]
    public void Small_clock_step_back_waits_and_stays_monotonic()
    {
        var clock = new ManualClock(SnowflakeId.Epoch.AddSeconds(100));
        var generator = new SnowflakeIdGenerator(4, clock, maxClockRollback: TimeSpan.FromMilliseconds(50));
        var before = generator.Next();

        clock.Advance(TimeSpan.FromMilliseconds(-20));
        clock.AdvanceOnEveryRead = TimeSpan.FromMilliseconds(1);
        var after = generator.Next();

        Assert.True(after > before);
        Assert.True(after.Timestamp >= before.Timestamp);
    }

    [Fact]
    public void Large_clock_step_back_fails_with_a_clear_error()
    {
        var clock = new ManualClock(SnowflakeId.Epoch.AddSeconds(100));
        var generator = new SnowflakeIdGenerator(4, clock, maxClockRollback: TimeSpan.FromMilliseconds(50));
        generator.Next();

        clock.Advance(TimeSpan.FromSeconds(-5));
        var error = Assert.Throws<ClockMovedBackwardsException>(() => generator.Next());
        Assert.Contains("moved back 5000 ms", error.Message, StringComparison.Ordinal);

        // Once the clock is back past the last id, ids flow again.
        clock.Advance(TimeSpan.FromSeconds(5) + TimeSpan.FromMilliseconds(1));
        Assert.Equal(100_001, generator.Next().Timestamp);
    }

    /// <summary>A clock the test moves by hand; optionally ticks on reads so waits end.</summary>
    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;
        private int _reads;

        public TimeSpan AdvanceOnEveryRead { get; set; }
        public int AdvanceOnReadAfter { get; set; } = int.MaxValue;

        public void Advance(TimeSpan by) => _now += by;

        public override DateTimeOffset GetUtcNow()
        {
            if (++_reads >= AdvanceOnReadAfter)
            {
                _now += TimeSpan.FromMilliseconds(1);
            }

            _now += AdvanceOnEveryRead;
            return _now;
        }
    }
}
