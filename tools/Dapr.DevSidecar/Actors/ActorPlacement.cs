using System.Runtime.CompilerServices;
using Dapr.DevSidecar.Api;
using Dapr.DevSidecar.Components;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Actors;

/// <summary>
/// Dapr's placement service and actor table for every sidecar sharing one
/// <see cref="ComponentRuntime"/> (one process, or one test): which hosts serve each actor type
/// (a <see cref="HashRing{THost}"/> per type), which actors are active where, their turn locks
/// and timers, and the reminder schedulers. A call arriving at any sidecar is routed here to the
/// owning host's app, so each actor lives on one host at a time and runs one call at a time.
/// </summary>
public sealed class ActorPlacement
{
    private static readonly ConditionalWeakTable<ComponentRuntime, ActorPlacement> ByRuntime = [];

    private readonly Lock _lock = new();
    private readonly List<ActorHost> _hosts = [];
    private readonly Dictionary<string, ActorEntry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ReminderScheduler> _reminders = new(StringComparer.Ordinal);
    private Dictionary<string, HashRing<ActorHost>> _rings = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = NewSignal();

    private ActorPlacement(TimeProvider time, ILogger log)
    {
        Time = time;
        Log = log;
    }

    public static ActorPlacement For(ComponentRuntime runtime) => ByRuntime.GetValue(runtime, rt =>
    {
        var placement = new ActorPlacement(rt.Time, rt.LoggerFactory.CreateLogger("Dapr.DevSidecar.Actors"));
        if (rt.PlacementFolder is { } folder)
        {
            placement.Cluster = new ActorCluster(placement, folder, placement.Log);
            rt.DisposeWith(placement.Cluster);
        }

        return placement;
    });

    /// <summary>
    /// Placement shared with other dev-sidecar processes (<see cref="ComponentRuntime.PlacementFolder"/>),
    /// or null when it spans the sidecars of this runtime only.
    /// </summary>
    public ActorCluster? Cluster { get; private set; }

    public TimeProvider Time { get; }

    internal ILogger Log { get; }

    /// <summary>How long a call waits for a host of its actor type to appear (daprd waits for placement tables likewise).</summary>
    public TimeSpan HostWaitTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The host owning an actor now, or null when no host serves the type.</summary>
    public ActorHost? OwnerOf(string type, string id) => Volatile.Read(ref _rings).TryGetValue(type, out var ring) ? ring.Get(id) : null;

    /// <summary>The hosts serving <paramref name="type"/>.</summary>
    public IReadOnlyList<ActorHost> HostsOf(string type) =>
        Volatile.Read(ref _rings).TryGetValue(type, out var ring) ? ring.Hosts : [];

    /// <summary>How many actors are active on <paramref name="host"/>.</summary>
    public int ActiveCount(ActorHost host)
    {
        lock (_lock)
        {
            return _entries.Values.Count(e => e.ActiveOn == host);
        }
    }

    internal void AddHost(ActorHost host)
    {
        var start = new List<ReminderScheduler>();
        lock (_lock)
        {
            if (_hosts.Contains(host) || host.IsStopped)
            {
                return;
            }

            _hosts.Add(host);
            RebuildRings();
            foreach (var type in host.Config.Types.Keys)
            {
                if (!_reminders.ContainsKey(type) && host.StateStore is { } store)
                {
                    var scheduler = new ReminderScheduler(this, type, store);
                    _reminders[type] = scheduler;
                    start.Add(scheduler);
                }
            }
        }

        foreach (var s in start)
        {
            s.Start();
        }

        Log.LogInformation("Actor host {Host} joined for types {Types}.", host.Name, string.Join(", ", host.Config.Types.Keys));
        if (Cluster is { } cluster)
        {
            // The placement leader publishes a table with this host; members move actors then.
            _ = Task.Run(async () =>
            {
                try
                {
                    await cluster.AddLocalAsync(host);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
                {
                    Log.LogError("Actor host {Host} could not join the placement in {Folder}: {Error}", host.Name, cluster.Folder, ex.Message);
                }
            });
            return;
        }

        // Actors now owned elsewhere leave their old host (drainRebalancedActors), in the background.
        _ = Task.Run(() => DrainMovedAsync((entry, on) => OwnerOf(entry.Type, entry.Id) != on, finishLate: false));
    }

    internal async Task RemoveHostAsync(ActorHost host)
    {
        var stop = new List<ReminderScheduler>();
        List<ActorEntry> active;
        lock (_lock)
        {
            if (!_hosts.Remove(host))
            {
                return;
            }

            RebuildRings();
            foreach (var type in host.Config.Types.Keys)
            {
                if (!_rings.ContainsKey(type) && _reminders.Remove(type, out var scheduler))
                {
                    stop.Add(scheduler);
                }
            }

            active = _entries.Values.Where(e => e.ActiveOn == host).ToList();
        }

        foreach (var s in stop)
        {
            await s.StopAsync();
        }

        // Let ongoing calls finish (drainOngoingCallTimeout), then deactivate what is still active here.
        var drain = host.Config.Types.Values.Select(t => t.DrainOngoingCallTimeout).DefaultIfEmpty(ActorAppConfig.DefaultDrainOngoingCallTimeout).Max();
        using var cts = new CancellationTokenSource(drain, Time);
        await Parallel.ForEachAsync(active, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (entry, _) =>
        {
            try
            {
                using var turn = await entry.EnterAsync(null, null, cts.Token);
                if (entry.ActiveOn == host)
                {
                    entry.CancelTimers();
                    await host.DeactivateAsync(entry.Type, entry.Id, cts.Token);
                    entry.ActiveOn = null;
                }
            }
            catch (OperationCanceledException)
            {
                // The call did not finish in time: the entry still points at the stopped host and
                // the next call moves the actor.
            }
        });
        lock (_lock)
        {
            foreach (var e in active)
            {
                TryRemove(e);
            }
        }

        if (Cluster is not null)
        {
            // Only now, with its actors deactivated, may the next table give them to other processes.
            await Cluster.RemoveLocalAsync(host);
        }

        Log.LogInformation("Actor host {Host} left.", host.Name);
    }

    /// <summary>Must hold <see cref="_lock"/>.</summary>
    private void RebuildRings()
    {
        var rings = new Dictionary<string, HashRing<ActorHost>>(StringComparer.Ordinal);
        foreach (var type in _hosts.SelectMany(h => h.Config.Types.Keys).Distinct(StringComparer.Ordinal))
        {
            rings[type] = new HashRing<ActorHost>(_hosts.Where(h => h.Config.Types.ContainsKey(type)).Select(h => (h.Name, h)));
        }

        Volatile.Write(ref _rings, rings);
        var changed = _changed;
        _changed = NewSignal();
        changed.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes on the next membership change.</summary>
    internal Task Changed
    {
        get
        {
            lock (_lock)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>The owner of an actor, waiting up to <see cref="HostWaitTimeout"/> for one to register the type.</summary>
    internal async Task<ActorHost> WaitForOwnerAsync(string type, string id, CancellationToken ct)
    {
        var deadline = Time.GetUtcNow() + HostWaitTimeout;
        while (true)
        {
            var changed = Changed;
            if (OwnerOf(type, id) is { } owner)
            {
                return owner;
            }

            var left = deadline - Time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                throw ActorErrors.NoAddress(type + ActorStateStore.Separator + id);
            }

            try
            {
                await changed.WaitAsync(left, Time, ct);
            }
            catch (TimeoutException)
            {
                // loop once more, then fail
            }
        }
    }

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

    /// <summary>Registers (or replaces) a timer of an actor; it fires only while the actor stays active where it is.</summary>
    internal void CreateTimer(string type, string id, ActorTimer timer) => ReplaceTimer(type, id, timer.Name, timer);

    internal void DeleteTimer(string type, string id, string name) => ReplaceTimer(type, id, name, null);

    private void ReplaceTimer(string type, string id, string name, ActorTimer? timer)
    {
        var entry = Rent(type, id);
        try
        {
            lock (entry.Timers)
            {
                if (entry.Timers.Remove(name, out var old))
                {
                    old.Cancel();
                }

                if (timer is not null)
                {
                    entry.Timers[name] = timer;
                }
            }

            if (timer is not null)
            {
                _ = Task.Run(() => RunTimerAsync(entry, timer));
            }
        }
        finally
        {
            Return(entry);
        }
    }

    private async Task RunTimerAsync(ActorEntry entry, ActorTimer timer)
    {
        var ct = timer.Token;
        var schedule = timer.Schedule;
        var next = schedule.FirstDue;
        var left = schedule.Period.Repetitions;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var wait = next - Time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, Time, ct);
                }

                if (schedule.Expires is { } expires && next > expires)
                {
                    break;
                }

                var (ran, _) = await CallAsync(entry.Type, entry.Id, null, onlyIfActive: true, async (host, reentrancyId, token) =>
                {
                    try
                    {
                        var response = await host.InvokeCallbackAsync(entry.Type, entry.Id, "timer", timer.Name, timer.Body(), reentrancyId, token);
                        ActorHost.EnsureOk(response, $"timer/{timer.Name}");
                    }
                    catch (DaprApiException ex)
                    {
                        Log.LogWarning("Timer {Timer} of actor {Type}/{Id} failed: {Error}", timer.Name, entry.Type, entry.Id, ex.Message);
                    }

                    return true;
                }, ct);
                if (!ran)
                {
                    break;
                }

                if (left > 0)
                {
                    left--;
                }

                if (left == 0 || !schedule.Period.Repeats)
                {
                    break;
                }

                next = schedule.Period.Following(next);
            }
        }
        catch (OperationCanceledException)
        {
            // unregistered or deactivated
        }
        catch (ActorNotHereException)
        {
            // the actor moved to another process (its timers stay with the activation)
        }
        catch (DaprApiException ex)
        {
            Log.LogWarning("Timer {Timer} of actor {Type}/{Id} stopped: {Error}", timer.Name, entry.Type, entry.Id, ex.Message);
        }
        finally
        {
            lock (entry.Timers)
            {
                if (entry.Timers.TryGetValue(timer.Name, out var current) && current == timer)
                {
                    entry.Timers.Remove(timer.Name);
                }
            }

            lock (_lock)
            {
                TryRemove(entry);
            }
        }
    }

    /// <summary>The reminder scheduler of a type hosted in this process, or null.</summary>
    internal ReminderScheduler? RemindersOf(string type)
    {
        lock (_lock)
        {
            return _reminders.GetValueOrDefault(type);
        }
    }
}
