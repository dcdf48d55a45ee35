using System.Text.Json;
using System.Text.Json.Serialization;
using Dapr.DevSidecar.Api;
using Dapr.DevSidecar.State;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Actors;

/// <summary>
/// A reminder as stored in the actor state store, in daprd's classic layout (one JSON array per
/// actor type under the key <c>actors||{actorType}</c>, field names as daprd's). Two differences,
/// so that a restart resumes where it stopped: <c>registeredTime</c> is the next due time (moved
/// forward after a tick that counts down repetitions; kept in memory only for unlimited periodic
/// reminders) and <c>repetitionsLeft</c> counts down (-1 = unlimited).
/// </summary>
public sealed class StoredReminder
{
    [JsonPropertyName("actorID")] public required string ActorId { get; init; }

    [JsonPropertyName("actorType")] public required string ActorType { get; init; }

    [JsonPropertyName("name")] public required string Name { get; init; }

    [JsonPropertyName("data")] public JsonElement? Data { get; init; }

    [JsonPropertyName("period")] public string? Period { get; init; }

    [JsonPropertyName("dueTime")] public string? DueTime { get; init; }

    [JsonPropertyName("registeredTime")] public DateTimeOffset RegisteredTime { get; set; }

    [JsonPropertyName("expirationTime")] public DateTimeOffset? ExpirationTime { get; init; }

    [JsonPropertyName("repetitionsLeft")] public int RepetitionsLeft { get; set; } = -1;

    internal bool Same(StoredReminder other) => ActorId == other.ActorId && Name == other.Name;

    internal bool SameVersion(StoredReminder other) =>
        Same(other) && RegisteredTime == other.RegisteredTime && Period == other.Period && DueTime == other.DueTime
        && RepetitionsLeft == other.RepetitionsLeft && Data?.GetRawText() == other.Data?.GetRawText();
}

/// <summary>
/// The reminders of one actor type, for every host of that type in this process: kept in the
/// actor state store, loaded when the first host of the type joins (so they fire again after a
/// full restart), and fired on whichever host owns the actor at that moment (so they keep firing
/// when the host that created them stops).
/// </summary>
internal sealed class ReminderScheduler(ActorPlacement placement, string type, IStateStore store)
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private readonly SemaphoreSlim _mutex = new(1, 1);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    // Keyed by (actor id, name), not a joined string: the loop checks every reminder of the type at
    // each wake, and building a key for each was a fifth of this process's allocations under load.
    private readonly HashSet<(string ActorId, string Name)> _inFlight = [];
    private List<StoredReminder>? _list;
    private long _loadedAt;
    private Task? _loop;

    /// <summary>With placement shared across processes, others change the stored list too: it is read again this often.</summary>
    private static readonly TimeSpan ClusterReload = TimeSpan.FromSeconds(1);

    private bool Shared => placement.Cluster is not null;

    public string ActorType { get; } = type;

    public string StoreKey => "actors" + ActorStateStore.Separator + ActorType;

    public void Start() => _loop = Task.Run(LoopAsync);

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    public async Task CreateAsync(StoredReminder reminder, CancellationToken ct)
    {
        await MutateAsync(list =>
        {
            list.RemoveAll(r => r.Same(reminder));
            list.Add(reminder);
            return true;
        }, ct);
        Wake();
    }

    public async Task<bool> DeleteAsync(string actorId, string name, CancellationToken ct)
    {
        var found = false;
        await MutateAsync(list =>
        {
            found = list.RemoveAll(r => r.ActorId == actorId && r.Name == name) > 0;
            return found;
        }, ct);
        Wake();
        return found;
    }

    public async Task<StoredReminder?> GetAsync(string actorId, string name, CancellationToken ct)
    {
        await _mutex.WaitAsync(ct);
        try
        {
            _list = _list is null || Shared ? await LoadAsync(ct) : _list;
            return _list.FirstOrDefault(r => r.ActorId == actorId && r.Name == name);
        }
        finally
        {
            _mutex.Release();
        }
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    private async Task<List<StoredReminder>> LoadAsync(CancellationToken ct) => (await LoadEntryAsync(ct)).List;

    private async Task<(List<StoredReminder> List, string? ETag)> LoadEntryAsync(CancellationToken ct)
    {
        var entry = await store.GetAsync(StoreKey, ct);
        _loadedAt = Environment.TickCount64;
        return entry is null || entry.Value.Length == 0
            ? ([], entry?.ETag)
            : (JsonSerializer.Deserialize<List<StoredReminder>>(entry.Value, Json) ?? [], entry.ETag);
    }

    /// <summary>
    /// Applies a change to the list and, when it says so, writes it back. In one process the
    /// scheduler is the only writer (last write wins); with placement shared across processes the
    /// list is read fresh and written with its ETag, again on a conflict.
    /// </summary>
    private async Task MutateAsync(Func<List<StoredReminder>, bool> change, CancellationToken ct)
    {
        await _mutex.WaitAsync(ct);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                List<StoredReminder> list;
                string? etag = null;
                if (Shared)
                {
                    (list, etag) = await LoadEntryAsync(ct);
                }
                else
                {
                    list = _list is null ? await LoadAsync(ct) : [.. _list];
                }

                if (change(list))
                {
                    var bytes = JsonSerializer.SerializeToUtf8Bytes(list, Json);
                    var concurrency = Shared && etag is null ? StateConcurrency.FirstWrite : StateConcurrency.LastWrite;
                    try
                    {
                        await store.SetAsync(new StateUpsert(StoreKey, bytes, etag, concurrency, null), ct);
                    }
                    catch (Exception ex) when (Shared && attempt < 10 && ex is not OperationCanceledException)
                    {
                        // Another process wrote the list meanwhile: apply the change to its version.
                        continue;
                    }
                }

                _list = list;
                return;
            }
        }
        finally
        {
            _mutex.Release();
        }
    }

    private async Task LoopAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                TimeSpan? wait = null;
                var due = new List<StoredReminder>();
                await _mutex.WaitAsync(ct);
                try
                {
                    if (_list is null || (Shared && Environment.TickCount64 - _loadedAt >= ClusterReload.TotalMilliseconds))
                    {
                        _list = await LoadAsync(ct);
                    }

                    var now = placement.Time.GetUtcNow();
                    foreach (var r in _list)
                    {
                        var key = (r.ActorId, r.Name);
                        // Across processes, each fires the reminders of the actors it owns (and reloads the list to see moves).
                        if (_inFlight.Contains(key) || placement.Cluster?.OwnsLocally(ActorType, r.ActorId) == false)
                        {
                            continue;
                        }

                        if (r.RegisteredTime <= now)
                        {
                            _inFlight.Add(key);
                            due.Add(r);
                        }
                        else if (wait is null || r.RegisteredTime - now < wait)
                        {
                            wait = r.RegisteredTime - now;
                        }
                    }
                }
                finally
                {
                    _mutex.Release();
                }

                foreach (var r in due)
                {
                    _ = Task.Run(() => FireAsync(r, ct), CancellationToken.None);
                }

                if (Shared && (wait is null || wait > ClusterReload))
                {
                    wait = ClusterReload;
                }

                await _wake.WaitAsync(wait ?? Timeout.InfiniteTimeSpan, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                placement.Log.LogWarning("Reminders of actor type {Type}: {Error}; retrying.", ActorType, ex.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), placement.Time, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task FireAsync(StoredReminder reminder, CancellationToken ct)
    {
        var key = (reminder.ActorId, reminder.Name);
        var fired = false;
        var cancel = false;
        try
        {
            if (reminder.ExpirationTime is not { } exp || reminder.RegisteredTime <= exp)
            {
                var body = CallbackBody.Write(reminder.Data?.GetRawText(), reminder.DueTime, reminder.Period, null);
                (_, cancel) = await placement.CallAsync(ActorType, reminder.ActorId, null, onlyIfActive: false, async (host, reentrancyId, token) =>
                {
                    var response = await host.InvokeCallbackAsync(ActorType, reminder.ActorId, "remind", reminder.Name, body, reentrancyId, token);
                    ActorHost.EnsureOk(response, $"remind/{reminder.Name}");
                    return response.Headers.Any(h => h.Key.Equals(ActorAppResponse.ReminderCancelHeader, StringComparison.OrdinalIgnoreCase)
                        && h.Value.Any(v => v.Equals("true", StringComparison.OrdinalIgnoreCase) || v == "1"));
                }, ct);
            }

            fired = true;
        }
        catch (ActorNotHereException)
        {
            // Moved to another process meanwhile: its owner fires it.
        }
        catch (DaprApiException ex) when (ex.ErrorCode == "ERR_ACTOR_NO_ADDRESS")
        {
            // No host of the type right now: it stays due and fires once one is back.
        }
        catch (DaprApiException ex)
        {
            placement.Log.LogWarning("Reminder {Reminder} of actor {Type}/{Id} failed: {Error}", reminder.Name, ActorType, reminder.ActorId, ex.Message);
            fired = true;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }

        try
        {
            if (fired)
            {
                await MutateAsync(list =>
                {
                    var current = list.FindIndex(r => r.SameVersion(reminder));
                    if (current < 0)
                    {
                        return false; // replaced or deleted meanwhile
                    }

                    var counted = list[current].RepetitionsLeft > 0;
                    if (cancel || !Advance(list[current]))
                    {
                        list.RemoveAt(current);
                        return true;
                    }

                    // An unlimited periodic reminder's next tick is derivable (after a restart it
                    // fires once, then keeps its period), so a tick rewrites the stored list only
                    // when it counts down repetitions: the list holds every reminder of the type.
                    return counted || Shared;
                }, ct);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            placement.Log.LogWarning("Reminder {Reminder} of actor {Type}/{Id}: saving its next tick failed: {Error}", reminder.Name, ActorType, reminder.ActorId, ex.Message);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        finally
        {
            if (!fired)
            {
                // Try again shortly rather than spinning.
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(250), placement.Time, ct);
                }
                catch (OperationCanceledException)
                {
                    // stopping
                }
            }

            await _mutex.WaitAsync(CancellationToken.None);
            _inFlight.Remove(key);
            _mutex.Release();
            Wake();
        }
    }

    /// <summary>Moves a reminder to its next tick; false when it is done (no period, repetitions used up, or past its TTL).</summary>
    private bool Advance(StoredReminder r)
    {
        ActorPeriod period;
        try
        {
            period = ActorDurations.ParsePeriod(r.Period);
        }
        catch (FormatException)
        {
            return false;
        }

        if (r.RepetitionsLeft > 0)
        {
            r.RepetitionsLeft--;
        }

        if (r.RepetitionsLeft == 0 || !period.Repeats)
        {
            return false;
        }

        var now = placement.Time.GetUtcNow();
        var next = period.Following(r.RegisteredTime);
        // After downtime, fire once and continue from now instead of replaying every missed tick.
        r.RegisteredTime = next > now ? next : period.Following(now);
        return r.ExpirationTime is not { } exp || r.RegisteredTime <= exp;
    }
}
