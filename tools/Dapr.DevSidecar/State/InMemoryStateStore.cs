using System.Globalization;

namespace Dapr.DevSidecar.State;

/// <summary>
/// <c>state.in-memory</c>: a process-wide dictionary with numeric ETags, TTL and transactions.
/// Shared by every sidecar in this process that loads a component with the same name.
/// </summary>
public sealed class InMemoryStateStore(TimeProvider time) : IStateStore
{
    private readonly Dictionary<string, (StateEntry Entry, long Version)> _items = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _version;

    public StateStoreFeatures Features => StateStoreFeatures.ETag | StateStoreFeatures.Transactional | StateStoreFeatures.Ttl;

    public Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Live(key));
        }
    }

    public Task<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, StateEntry>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var key in keys)
            {
                if (Live(key) is { } entry)
                {
                    result[key] = entry;
                }
            }
        }

        return Task.FromResult<IReadOnlyDictionary<string, StateEntry>>(result);
    }

    public Task SetAsync(StateUpsert operation, CancellationToken cancellationToken) =>
        ExecuteTransactionAsync([operation], cancellationToken);

    public Task DeleteAsync(StateDelete operation, CancellationToken cancellationToken) =>
        ExecuteTransactionAsync([operation], cancellationToken);

    public Task ExecuteTransactionAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // Check every operation first so a failing one leaves nothing applied.
            foreach (var op in operations)
            {
                Check(op);
            }

            var now = time.GetUtcNow();
            foreach (var op in operations)
            {
                switch (op)
                {
                    case StateUpsert up:
                        var version = ++_version;
                        _items[up.Key] = (new StateEntry(up.Value, version.ToString(CultureInfo.InvariantCulture), up.Ttl is { } ttl ? now + ttl : null), version);
                        break;
                    case StateDelete del:
                        _items.Remove(del.Key);
                        break;
                }
            }
        }

        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private void Check(StateOperation op)
    {
        var current = Live(op.Key);
        if (!string.IsNullOrEmpty(op.ETag))
        {
            if (!long.TryParse(op.ETag, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                throw new InvalidETagException(op.Key, op.ETag);
            }

            if (current is null || current.ETag != op.ETag)
            {
                throw new ETagMismatchException(op.Key);
            }
        }
        else if (op is StateUpsert && op.Concurrency == StateConcurrency.FirstWrite && current is not null)
        {
            throw new ETagMismatchException(op.Key);
        }
    }

    private StateEntry? Live(string key)
    {
        if (!_items.TryGetValue(key, out var item))
        {
            return null;
        }

        if (item.Entry.ExpiresAt is { } at && at <= time.GetUtcNow())
        {
            _items.Remove(key);
            return null;
        }

        return item.Entry;
    }
}
