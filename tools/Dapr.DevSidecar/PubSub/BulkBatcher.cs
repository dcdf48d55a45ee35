using System.Threading.Channels;

namespace Dapr.DevSidecar.PubSub;

/// <summary>
/// Collects items into batches as daprd's default bulk subscriber does: a batch is flushed when it
/// holds <c>maxCount</c> items, or at the next tick of a <c>maxAwait</c> ticker that restarts at every
/// flush, whichever comes first; items already queued when a batch starts are taken at once. One
/// batch is delivered at a time. So a lone item waits between zero and <c>maxAwait</c> (on average
/// half), as with daprd. The ticker is not run: the first item of a batch arms a one-shot timer for
/// the tick it would meet, so an idle subscription costs nothing.
/// </summary>
internal sealed class BulkBatcher<T> : IAsyncDisposable
    where T : class
{
    private readonly Channel<Signal> _queue = Channel.CreateUnbounded<Signal>(new UnboundedChannelOptions { SingleReader = true });
    private readonly int _maxCount;
    private readonly TimeSpan _maxAwait;
    private readonly Func<T[], CancellationToken, Task> _flush;
    private readonly Action<T> _abandon;
    private readonly ITimer _timer;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<T> _batch;
    private readonly Task _loop;

    // The number of the batch being filled; a timer signal of an earlier batch is ignored.
    private long _generation;

    // When the (virtual) ticker last restarted: at the start, and at every flush.
    private long _tickerStart;
    private long _flushed;

    /// <param name="maxCount">Flush when a batch holds this many items.</param>
    /// <param name="maxAwait">The await ticker's period: a batch not full by the next tick is flushed at it.</param>
    /// <param name="flush">Delivers one batch; must not throw.</param>
    /// <param name="abandon">Called for each item still waiting when the batcher is disposed.</param>
    /// <param name="time">The clock of the await timer.</param>
    public BulkBatcher(int maxCount, TimeSpan maxAwait, Func<T[], CancellationToken, Task> flush, Action<T> abandon, TimeProvider time)
    {
        _maxCount = maxCount;
        _maxAwait = maxAwait;
        _flush = flush;
        _abandon = abandon;
        _batch = new List<T>(Math.Min(maxCount, 1024));
        _time = time;
        _tickerStart = time.GetTimestamp();
        _timer = time.CreateTimer(static s => ((BulkBatcher<T>)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _loop = Task.Run(LoopAsync, CancellationToken.None);
    }

    /// <summary>Queues <paramref name="item"/>; false once the batcher is disposed.</summary>
    public bool TryAdd(T item) => _queue.Writer.TryWrite(new Signal(item, 0));

    private void OnTimer() => _queue.Writer.TryWrite(new Signal(null, Volatile.Read(ref _generation)));

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        var ct = _stop.Token;
        try
        {
            while (await reader.WaitToReadAsync(ct))
            {
                while (reader.TryRead(out var signal))
                {
                    if (signal.Item is null)
                    {
                        if (signal.Generation == _generation && _batch.Count > 0)
                        {
                            await FlushAsync(ct);
                        }

                        continue;
                    }

                    _batch.Add(signal.Item);
                    if (_batch.Count == 1)
                    {
                        _timer.Change(UntilNextTick(), Timeout.InfiniteTimeSpan);
                    }

                    if (_batch.Count >= _maxCount)
                    {
                        await FlushAsync(ct);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // disposed
        }
    }

    /// <summary>The time from now to the ticker's next tick (ticks fall every maxAwait since its last restart).</summary>
    private TimeSpan UntilNextTick()
    {
        var sinceStart = _time.GetElapsedTime(_tickerStart);
        var intoWindow = TimeSpan.FromTicks(sinceStart.Ticks % _maxAwait.Ticks);
        return _maxAwait - intoWindow;
    }

    private async Task FlushAsync(CancellationToken ct)
    {
        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Volatile.Write(ref _generation, _generation + 1);
        var items = _batch.ToArray();
        _batch.Clear();
        await _flush(items, ct);
        // daprd resets its ticker once the batch is handled: what queued meanwhile gets a whole window.
        _tickerStart = _time.GetTimestamp();
        Interlocked.Increment(ref _flushed);
    }

    /// <summary>Batches handed to the flush callback and returned from it (the ticker has restarted for each).</summary>
    internal long Flushed => Interlocked.Read(ref _flushed);

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync();
        await _loop;
        await _timer.DisposeAsync();
        foreach (var item in _batch)
        {
            _abandon(item);
        }

        _batch.Clear();
        while (_queue.Reader.TryRead(out var signal))
        {
            if (signal.Item is not null)
            {
                _abandon(signal.Item);
            }
        }

        _stop.Dispose();
    }

    private readonly record struct Signal(T? Item, long Generation);
}
