namespace Dapr.DevSidecar.Actors;

/// <summary>Activation and turns: an actor's entry, and a call run in its turn on its owner.</summary>
public sealed partial class ActorPlacement
{
    private ActorEntry Rent(string type, string id)
    {
        var key = type + ActorStateStore.Separator + id;
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                entry = new ActorEntry(type, id);
                _entries[key] = entry;
            }

            entry.Refs++;
            return entry;
        }
    }

    private void Return(ActorEntry entry)
    {
        lock (_lock)
        {
            entry.Refs--;
            TryRemove(entry);
        }
    }

    /// <summary>Forgets an entry nobody uses; must hold <see cref="_lock"/>.</summary>
    private void TryRemove(ActorEntry entry)
    {
        if (entry.Refs == 0 && entry.ActiveOn is null && !entry.HasTimers
            && _entries.TryGetValue(entry.Key, out var current) && current == entry)
        {
            _entries.Remove(entry.Key);
        }
    }

    /// <summary>
    /// Runs <paramref name="call"/> in the actor's turn on the host that owns it (activating it
    /// there, and deactivating it first on a host that had it before a placement change).
    /// With <paramref name="onlyIfActive"/> (timers), nothing runs unless the actor is active and
    /// has not moved; then the result is default.
    /// </summary>
    internal async Task<(bool Ran, T? Result)> CallAsync<T>(string type, string id, string? reentrancyId, bool onlyIfActive,
        Func<ActorHost, string?, CancellationToken, Task<T>> call, CancellationToken ct)
    {
        var cluster = Cluster;
        var owner = cluster is null ? await WaitForOwnerAsync(type, id, ct) : await cluster.LocalOwnerAsync(type, id, ct);
        owner.Config.Types.TryGetValue(type, out var config);
        var entry = Rent(type, id);
        try
        {
            using var turn = await entry.EnterAsync(reentrancyId, config, ct);
            owner = cluster is null ? OwnerOf(type, id) ?? await WaitForOwnerAsync(type, id, ct) : cluster.OwnerInTurn(type, id, owner);
            if (entry.ActiveOn is { } previous && previous != owner)
            {
                entry.CancelTimers();
                if (!previous.IsStopped)
                {
                    await previous.DeactivateAsync(type, id, ct);
                }

                entry.ActiveOn = null;
            }

            if (onlyIfActive && entry.ActiveOn is null)
            {
                return (false, default);
            }

            entry.ActiveOn = owner;
            try
            {
                return (true, await call(owner, turn.ReentrancyId, ct));
            }
            finally
            {
                entry.LastUsedTicks = Time.GetUtcNow().UtcTicks;
            }
        }
        finally
        {
            Return(entry);
        }
    }
}
