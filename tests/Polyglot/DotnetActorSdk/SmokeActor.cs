using System.Runtime.Serialization;
using Dapr.Actors;
using Dapr.Actors.Runtime;

namespace DotnetActorSdk;

/// <summary>What the actor keeps in its state (data contracts, as actor remoting serializes them).</summary>
[DataContract]
public sealed record SmokeData([property: DataMember] string Name, [property: DataMember] int Count);

/// <summary>Tick counts of the actor's timer and reminder, as stored in its state.</summary>
[DataContract]
public sealed record Ticks([property: DataMember] int Timer, [property: DataMember] int Reminder);

/// <summary>The actor interface, shared by the actor and its remoting proxy.</summary>
public interface ISmokeActor : IActor
{
    Task SetDataAsync(SmokeData data);

    Task<SmokeData?> GetDataAsync();

    Task StartTicksAsync();

    Task StopTicksAsync();

    Task<Ticks> GetTicksAsync();
}

/// <summary>An actor as the Dapr .NET actor docs write one: StateManager, a timer and a reminder.</summary>
public sealed class SmokeActor(ActorHost host) : Actor(host), ISmokeActor, IRemindable
{
    private const string DataKey = "data";
    private const string TimerTicksKey = "timer-ticks";
    private const string ReminderTicksKey = "reminder-ticks";

    public async Task SetDataAsync(SmokeData data) => await StateManager.SetStateAsync(DataKey, data);

    public async Task<SmokeData?> GetDataAsync()
    {
        var data = await StateManager.TryGetStateAsync<SmokeData>(DataKey);
        return data.HasValue ? data.Value : null;
    }

    public async Task StartTicksAsync()
    {
        await RegisterTimerAsync("smoke-timer", nameof(OnTimerAsync), null, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200));
        await RegisterReminderAsync("smoke-reminder", null, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200));
    }

    public async Task StopTicksAsync()
    {
        await UnregisterTimerAsync("smoke-timer");
        await UnregisterReminderAsync("smoke-reminder");
    }

    public async Task<Ticks> GetTicksAsync() => new(
        await StateManager.GetOrAddStateAsync(TimerTicksKey, 0),
        await StateManager.GetOrAddStateAsync(ReminderTicksKey, 0));

    public async Task OnTimerAsync() => await StateManager.SetStateAsync(TimerTicksKey, await StateManager.GetOrAddStateAsync(TimerTicksKey, 0) + 1);

    public async Task ReceiveReminderAsync(string reminderName, byte[] state, TimeSpan dueTime, TimeSpan period) =>
        await StateManager.SetStateAsync(ReminderTicksKey, await StateManager.GetOrAddStateAsync(ReminderTicksKey, 0) + 1);
}
