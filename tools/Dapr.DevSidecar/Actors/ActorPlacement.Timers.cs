using Dapr.DevSidecar.Api;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Actors;

/// <summary>Actor timers: in memory, owned by the activation, fired in the actor's turn.</summary>
public sealed partial class ActorPlacement
{
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
}
