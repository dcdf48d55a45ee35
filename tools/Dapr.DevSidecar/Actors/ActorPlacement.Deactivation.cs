namespace Dapr.DevSidecar.Actors;

/// <summary>Deactivation: actors idle past their type's timeout, and actors a placement change moved elsewhere.</summary>
public sealed partial class ActorPlacement
{
    /// <summary>Deactivates the actors of <paramref name="host"/> idle for longer than their type's idle timeout.</summary>
    internal async Task DeactivateIdleAsync(ActorHost host, CancellationToken ct)
    {
        var now = Time.GetUtcNow().UtcTicks;
        List<ActorEntry> idle;
        lock (_lock)
        {
            idle = _entries.Values.Where(e => e.ActiveOn == host && !e.Busy
                && host.Config.Types.TryGetValue(e.Type, out var c) && now - e.LastUsedTicks >= c.IdleTimeout.Ticks).ToList();
            foreach (var e in idle)
            {
                e.Refs++;
            }
        }

        foreach (var entry in idle)
        {
            try
            {
                if (entry.TryEnterNow() is { } turn)
                {
                    using (turn)
                    {
                        if (entry.ActiveOn == host)
                        {
                            entry.CancelTimers();
                            await host.DeactivateAsync(entry.Type, entry.Id, ct);
                            entry.ActiveOn = null;
                        }
                    }
                }
            }
            finally
            {
                Return(entry);
            }
        }
    }

    /// <summary>
    /// Deactivates the actors that <paramref name="moved"/> says no longer belong to the host they
    /// are active on, each after its ongoing call (within its type's drainOngoingCallTimeout).
    /// An actor still busy then keeps its timers stopped and, with <paramref name="finishLate"/>,
    /// is deactivated as soon as that call ends (else at its next call).
    /// </summary>
    internal async Task DrainMovedAsync(Func<ActorEntry, ActorHost, bool> moved, bool finishLate)
    {
        List<ActorEntry> entries;
        lock (_lock)
        {
            entries = _entries.Values.Where(e => e.ActiveOn is { } on && moved(e, on)).ToList();
            foreach (var e in entries)
            {
                e.Refs++;
            }
        }

        await Parallel.ForEachAsync(entries, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (entry, unused) =>
        {
            var late = false;
            try
            {
                var drain = entry.ActiveOn?.Config.Types.GetValueOrDefault(entry.Type)?.DrainOngoingCallTimeout ?? ActorAppConfig.DefaultDrainOngoingCallTimeout;
                using var cts = new CancellationTokenSource(drain, Time);
                using var turn = await entry.EnterAsync(null, null, cts.Token);
                await DeactivateIfMovedAsync(entry, moved, cts.Token);
            }
            catch (OperationCanceledException)
            {
                entry.CancelTimers();
                late = finishLate;
            }
            finally
            {
                if (late)
                {
                    _ = Task.Run(async () =>
                    {
                        try
                        {
                            using var turn = await entry.EnterAsync(null, null, CancellationToken.None);
                            await DeactivateIfMovedAsync(entry, moved, CancellationToken.None);
                        }
                        finally
                        {
                            Return(entry);
                        }
                    });
                }
                else
                {
                    Return(entry);
                }
            }
        });
    }

    /// <summary>Inside the actor's turn.</summary>
    private static async Task DeactivateIfMovedAsync(ActorEntry entry, Func<ActorEntry, ActorHost, bool> moved, CancellationToken ct)
    {
        if (entry.ActiveOn is { } on && moved(entry, on))
        {
            entry.CancelTimers();
            if (!on.IsStopped)
            {
                await on.DeactivateAsync(entry.Type, entry.Id, ct);
            }

            entry.ActiveOn = null;
        }
    }
}
