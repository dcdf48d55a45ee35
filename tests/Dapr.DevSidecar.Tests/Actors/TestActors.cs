using System.Collections.Concurrent;
using System.Text;
using Dapr.Actors;
using Dapr.Actors.Runtime;

namespace Dapr.DevSidecar.Tests.Actors;

/// <summary>What the test actors of one app did: activations, calls in flight, timer and reminder ticks.</summary>
public sealed class ActorProbe(string name)
{
    private readonly ConcurrentDictionary<string, int> _inFlight = new();
    private int _maxPerActor;
    private int _global;
    private int _maxGlobal;

    /// <summary>The app instance's name (tells which instance hosts an actor).</summary>
    public string Name { get; } = name;

    public ConcurrentQueue<(string Kind, string Id, string What, DateTimeOffset At)> Events { get; } = new();

    public int MaxConcurrentPerActor => Volatile.Read(ref _maxPerActor);

    public int MaxConcurrentOverall => Volatile.Read(ref _maxGlobal);

    public void Record(string kind, string id, string what = "") => Events.Enqueue((kind, id, what, DateTimeOffset.UtcNow));

    public int Count(string kind, string id, string what = "") => Events.Count(e => e.Kind == kind && e.Id == id && (what.Length == 0 || e.What == what));

    public void Enter(string id)
    {
        var now = _inFlight.AddOrUpdate(id, 1, (_, n) => n + 1);
        Max(ref _maxPerActor, now);
        Max(ref _maxGlobal, Interlocked.Increment(ref _global));
    }

    public void Exit(string id)
    {
        _inFlight.AddOrUpdate(id, 0, (_, n) => n - 1);
        Interlocked.Decrement(ref _global);
    }

    private static void Max(ref int field, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref field)) && Interlocked.CompareExchange(ref field, value, seen) != seen)
        {
        }
    }
}

public interface ICounterActor : IActor
{
    Task<int> AddAsync(int amount);

    Task<int> GetAsync();

    /// <summary>The name of the app instance this actor is active on.</summary>
    Task<string> WhereAsync();

    /// <summary>Stays in the actor for <paramref name="milliseconds"/>, recording overlap.</summary>
    Task<int> HoldAsync(int milliseconds);

    Task FailAsync(string message);

    Task StartTimerAsync(string name, int dueMilliseconds, int periodMilliseconds);

    Task StopTimerAsync(string name);

    Task SetReminderAsync(string name, int dueMilliseconds, int periodMilliseconds, int repetitions, int ttlMilliseconds);

    Task StopReminderAsync(string name);

    /// <summary>Calls actor <paramref name="otherId"/>, which calls this actor back (reentrancy).</summary>
    Task<int> PingAsync(string otherId);

    /// <summary>Calls <see cref="AddAsync"/> on <paramref name="callerId"/>.</summary>
    Task<int> PongAsync(string callerId);
}

/// <summary>A counter actor with state, timers, reminders and a reentrant ping-pong.</summary>
public sealed class CounterActor(ActorHost host, ActorProbe probe) : Actor(host), ICounterActor, IRemindable
{
    private const string CountKey = "count";

    protected override Task OnActivateAsync()
    {
        probe.Record("activate", Id.GetId());
        return Task.CompletedTask;
    }

    protected override Task OnDeactivateAsync()
    {
        probe.Record("deactivate", Id.GetId());
        return Task.CompletedTask;
    }

    public async Task<int> AddAsync(int amount)
    {
        var count = await StateManager.GetOrAddStateAsync(CountKey, 0) + amount;
        await StateManager.SetStateAsync(CountKey, count);
        return count;
    }

    public Task<int> GetAsync() => StateManager.GetOrAddStateAsync(CountKey, 0);

    public Task<string> WhereAsync() => Task.FromResult(probe.Name);

    public async Task<int> HoldAsync(int milliseconds)
    {
        probe.Enter(Id.GetId());
        try
        {
            await Task.Delay(milliseconds);
            return await AddAsync(1);
        }
        finally
        {
            probe.Exit(Id.GetId());
        }
    }

    public Task FailAsync(string message) => throw new InvalidOperationException(message);

    public Task StartTimerAsync(string name, int dueMilliseconds, int periodMilliseconds) =>
        RegisterTimerAsync(name, nameof(OnTimerAsync), Encoding.UTF8.GetBytes(name),
            TimeSpan.FromMilliseconds(dueMilliseconds), periodMilliseconds < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(periodMilliseconds));

    public Task StopTimerAsync(string name) => UnregisterTimerAsync(name);

    public Task OnTimerAsync(byte[] data)
    {
        probe.Record("timer", Id.GetId(), Encoding.UTF8.GetString(data));
        return Task.CompletedTask;
    }

    public Task SetReminderAsync(string name, int dueMilliseconds, int periodMilliseconds, int repetitions, int ttlMilliseconds)
    {
        var due = TimeSpan.FromMilliseconds(dueMilliseconds);
        var period = periodMilliseconds < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(periodMilliseconds);
        var state = Encoding.UTF8.GetBytes("state-of-" + name);
        return (repetitions, ttlMilliseconds) switch
        {
            ( > 0, > 0) => RegisterReminderAsync(name, state, due, period, repetitions, TimeSpan.FromMilliseconds(ttlMilliseconds)),
            ( > 0, _) => RegisterReminderAsync(name, state, due, period, repetitions),
            (_, > 0) => RegisterReminderAsync(name, state, due, period, TimeSpan.FromMilliseconds(ttlMilliseconds)),
            _ => RegisterReminderAsync(name, state, due, period),
        };
    }

    public Task StopReminderAsync(string name) => UnregisterReminderAsync(name);

    public Task ReceiveReminderAsync(string reminderName, byte[] state, TimeSpan dueTime, TimeSpan period)
    {
        probe.Record("reminder", Id.GetId(), reminderName + "|" + Encoding.UTF8.GetString(state) + "|" + probe.Name);
        return Task.CompletedTask;
    }

    public Task<int> PingAsync(string otherId) =>
        ProxyFactory.CreateActorProxy<ICounterActor>(new ActorId(otherId), Host.ActorTypeInfo.ActorTypeName).PongAsync(Id.GetId());

    public Task<int> PongAsync(string callerId) =>
        ProxyFactory.CreateActorProxy<ICounterActor>(new ActorId(callerId), Host.ActorTypeInfo.ActorTypeName).AddAsync(10);
}
