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
/// This file: hosts joining and leaving, the rings, waiting for an owner. Turns and activation,
/// deactivation (idle and moved actors) and timers are in the other ActorPlacement.*.cs files.
/// </summary>
public sealed partial class ActorPlacement
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

    /// <summary>The reminder scheduler of a type hosted in this process, or null.</summary>
    internal ReminderScheduler? RemindersOf(string type)
    {
        lock (_lock)
        {
            return _reminders.GetValueOrDefault(type);
        }
    }
}
