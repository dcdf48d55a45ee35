using System.Collections.Concurrent;
using Dapr.DevSidecar.PubSub;
using Dapr.DevSidecar.Tests.Infrastructure;

namespace Dapr.DevSidecar.Tests;

/// <summary>
/// The bulk batcher's flush rules, on a clock the test drives: full batches go at once, a partial
/// batch goes at the next tick of daprd's await ticker (restarted at every flush), met by a one-shot
/// timer armed by the batch's first item, and nothing ticks while idle.
/// </summary>
[Trait("Area", "DevSidecar")]
public sealed class BulkBatcherTests
{
    private sealed class Item(int n)
    {
        public int N { get; } = n;
    }

    /// <summary>A clock that moves and whose timers fire only when the test says so; it records how each timer was armed.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private long _now;

        public ConcurrentQueue<ManualTimer> Timers { get; } = new();

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _now);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _now, by.Ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new ManualTimer(callback, state);
            timer.Change(dueTime, period);
            Timers.Enqueue(timer);
            return timer;
        }
    }

    private sealed class ManualTimer(TimerCallback callback, object? state) : ITimer
    {
        private readonly Lock _lock = new();
        private TimeSpan _due = Timeout.InfiniteTimeSpan;

        public ConcurrentQueue<(TimeSpan Due, TimeSpan Period)> Changes { get; } = new();

        public bool Armed => Due != Timeout.InfiniteTimeSpan;

        public TimeSpan Due
        {
            get
            {
                lock (_lock)
                {
                    return _due;
                }
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (_lock)
            {
                _due = dueTime;
                Changes.Enqueue((dueTime, period));
            }

            return true;
        }

        public void Fire()
        {
            Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            callback(state);
        }

        public void Dispose() => Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task A_partial_batch_waits_for_the_next_tick_of_the_await_ticker_and_a_full_one_goes_at_once()
    {
        var time = new ManualTime();
        var flushed = new ConcurrentQueue<int[]>();
        await using var batcher = new BulkBatcher<Item>(3, TimeSpan.FromMilliseconds(5), (batch, _) =>
        {
            flushed.Enqueue([.. batch.Select(i => i.N)]);
            return Task.CompletedTask;
        }, _ => { }, time);
        var timer = Assert.Single(time.Timers);
        Assert.False(timer.Armed); // idle: no timer runs

        // A lone item 3 ms into the ticker's first 5 ms window arms the timer once, for the 2 ms left
        // until that tick, with no period (no polling tick).
        time.Advance(TimeSpan.FromMilliseconds(3));
        Assert.True(batcher.TryAdd(new Item(1)));
        await Wait.UntilAsync(() => timer.Armed, "the first item arms the timer");
        Assert.Equal(TimeSpan.FromMilliseconds(2), timer.Due);
        Assert.Equal((TimeSpan.FromMilliseconds(2), Timeout.InfiniteTimeSpan), timer.Changes.Last());
        Assert.Empty(flushed);

        time.Advance(TimeSpan.FromMilliseconds(2));
        timer.Fire();
        await Wait.UntilAsync(() => batcher.Flushed == 1, "the timer flushes the partial batch");
        Assert.Equal([1], flushed.Single());
        Assert.False(timer.Armed);

        // The flush restarted the ticker (at 5 ms): an item 11 ms later is 1 ms into its third window.
        time.Advance(TimeSpan.FromMilliseconds(11));
        batcher.TryAdd(new Item(10));
        await Wait.UntilAsync(() => timer.Armed, "the next lone item arms the timer");
        Assert.Equal(TimeSpan.FromMilliseconds(4), timer.Due);
        timer.Fire();
        await Wait.UntilAsync(() => batcher.Flushed == 2, "the timer flushes it");
        Assert.Equal([10], flushed.Last());

        // Three items fill a batch: it goes without the timer, which is disarmed.
        batcher.TryAdd(new Item(2));
        batcher.TryAdd(new Item(3));
        batcher.TryAdd(new Item(4));
        await Wait.UntilAsync(() => batcher.Flushed == 3, "a full batch flushes by count");
        Assert.Equal([2, 3, 4], flushed.Last());
        Assert.False(timer.Armed);

        // A timer signal of a batch already sent flushes nothing; right after a flush a lone item waits a whole window.
        timer.Fire();
        batcher.TryAdd(new Item(5));
        await Wait.UntilAsync(() => timer.Armed, "the next batch arms the timer again");
        Assert.Equal(TimeSpan.FromMilliseconds(5), timer.Due);
        Assert.Equal(3, flushed.Count);
    }

    [Fact]
    public async Task Items_still_waiting_at_dispose_are_abandoned_for_redelivery()
    {
        var time = new ManualTime();
        var abandoned = new ConcurrentQueue<int>();
        var batcher = new BulkBatcher<Item>(10, TimeSpan.FromSeconds(1), (_, _) => Task.CompletedTask, i => abandoned.Enqueue(i.N), time);
        batcher.TryAdd(new Item(1));
        batcher.TryAdd(new Item(2));
        await Wait.UntilAsync(() => time.Timers.Single().Armed, "the batch is being filled");

        await batcher.DisposeAsync();

        Assert.Equal([1, 2], abandoned.Order());
        Assert.False(batcher.TryAdd(new Item(3)));
    }
}
