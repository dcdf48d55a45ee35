using System.Threading.Channels;

namespace Dapr.DevSidecar.PubSub;

/// <summary>
/// Collects items into batches as daprd's default bulk subscriber does: a batch is flushed when it
/// holds <c>maxCount</c> items, or <c>maxAwait</c> after its first item arrived, whichever comes first;
/// items already queued when a batch starts are taken at once. One batch is delivered at a time.
/// The await window is a one-shot timer armed by the first item of a batch (not a periodic tick),
/// so a small window is kept to the timer's precision and an idle subscription costs nothing.
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
    private readonly CancellationTokenSource _stop = new();
    private readonly List<T> _batch;
    private readonly Task _loop;

    // The number of the batch being filled; a timer signal of an earlier batch is ignored.
    private long _generation;

    /// <param name="maxCount">Flush when a batch holds this many items.</param>
    /// <param name="maxAwait">Flush this long after a batch's first item, if it is not full by then.</param>
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
                        _timer.Change(_maxAwait, Timeout.InfiniteTimeSpan);
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

    private async Task FlushAsync(CancellationToken ct)
    {
        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Volatile.Write(ref _generation, _generation + 1);
        var items = _batch.ToArray();
        _batch.Clear();
        await _flush(items, ct);
    }

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
