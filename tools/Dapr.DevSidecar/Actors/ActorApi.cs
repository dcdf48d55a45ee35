using System.Globalization;
using System.Text.Json;
using Dapr.DevSidecar.Api;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.State;

namespace Dapr.DevSidecar.Actors;

/// <summary>One operation of an actor state transaction, decoded from its transport.</summary>
public sealed record ActorStateOperation(string Operation, string Key, byte[]? Value, string? ETag, IReadOnlyDictionary<string, string>? Metadata);

/// <summary>
/// The actor building block of one sidecar, independent of transport (the HTTP and gRPC APIs
/// both call this): invocation through the placement, actor state in the actor state store,
/// timers and reminders. Errors are <see cref="DaprApiException"/>s with daprd's codes.
/// </summary>
public sealed class ActorApi(SidecarContext sidecar, ActorHost host)
{
    public ActorHost Host { get; } = host;

    private ActorPlacement Placement => Host.Placement;

    /// <summary>
    /// Invokes an actor method on the host that owns the actor, in the actor's turn. An answer
    /// carrying <c>X-DaprErrorResponseHeader</c> (an actor exception, .NET remoting) is returned
    /// as is, as daprd does; any other non-200 answer of the app is ERR_ACTOR_INVOKE_METHOD.
    /// </summary>
    public async Task<ActorAppResponse> InvokeAsync(string type, string id, string method, ReadOnlyMemory<byte> body, string? contentType,
        IEnumerable<KeyValuePair<string, string[]>> headers, string? reentrancyId, CancellationToken ct)
    {
        ValidateNames(type, id);
        if (string.IsNullOrEmpty(method))
        {
            throw ActorErrors.BadRequest("invalid actor method: method name is empty");
        }

        var headerList = headers.ToList();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, Host.Stopping);
        ActorAppResponse? response;
        try
        {
            if (Placement.Cluster is { } cluster)
            {
                response = await cluster.InvokeAsync(type, id, method, body, contentType, headerList, reentrancyId, linked.Token);
            }
            else
            {
                (_, response) = await Placement.CallAsync(type, id, reentrancyId, onlyIfActive: false,
                    (owner, reentrancy, token) => owner.InvokeMethodAsync(type, id, method, body, contentType, headerList, reentrancy, token), linked.Token);
            }
        }
        catch (OperationCanceledException) when (Host.IsStopped && !ct.IsCancellationRequested)
        {
            throw ActorErrors.RuntimeClosed();
        }

        if (!response!.HasHeader(ActorAppResponse.ErrorHeader))
        {
            ActorHost.EnsureOk(response, $"actors/{type}/{id}/method/{method}");
        }

        return response;
    }

    public async Task<StateEntry?> GetStateAsync(string type, string id, string key, CancellationToken ct)
    {
        ValidateNames(type, id);
        var store = Store();
        try
        {
            return await store.GetAsync(ActorStateStore.StateKey(sidecar.AppId, type, id, key), ct);
        }
        catch (Exception ex) when (ex is not DaprApiException and not OperationCanceledException)
        {
            throw ActorErrors.StateGet(ex.Message);
        }
    }

    public async Task TransactAsync(string type, string id, IReadOnlyList<ActorStateOperation> operations, CancellationToken ct)
    {
        ValidateNames(type, id);
        var store = Store();
        var ops = new List<StateOperation>(operations.Count);
        foreach (var op in operations)
        {
            if (string.IsNullOrEmpty(op.Key))
            {
                throw ActorErrors.StateTransaction("missing key");
            }

            var key = ActorStateStore.StateKey(sidecar.AppId, type, id, op.Key);
            var etag = string.IsNullOrEmpty(op.ETag) ? null : op.ETag;
            ops.Add(op.Operation switch
            {
                "upsert" => new StateUpsert(key, op.Value ?? "null"u8.ToArray(), etag, StateConcurrency.LastWrite, Ttl(op.Metadata, store)),
                "delete" => new StateDelete(key, etag, StateConcurrency.LastWrite),
                "" => throw ActorErrors.StateTransaction("operation is empty"),
                _ => throw ActorErrors.StateTransaction($"operation type {op.Operation} not supported"),
            });
        }

        if (ops.Count == 0)
        {
            return;
        }

        try
        {
            await store.ExecuteTransactionAsync(ops, ct);
        }
        catch (Exception ex) when (ex is not DaprApiException and not OperationCanceledException)
        {
            throw ActorErrors.StateTransaction(ex.Message);
        }
    }

    public Task CreateTimerAsync(string type, string id, string name, string? dueTime, string? period, string? ttl, string? callback, string? data)
    {
        ValidateNames(type, id);
        ValidateName(name, "timer");
        ActorSchedule schedule;
        try
        {
            schedule = ActorSchedule.Parse(dueTime, period, ttl, Placement.Time.GetUtcNow(), "timer");
        }
        catch (FormatException ex)
        {
            throw ActorErrors.TimerCreate(ex.Message);
        }

        Placement.CreateTimer(type, id, new ActorTimer(name, callback, data, dueTime, period, schedule));
        return Task.CompletedTask;
    }

    public Task DeleteTimerAsync(string type, string id, string name)
    {
        ValidateNames(type, id);
        Placement.DeleteTimer(type, id, name);
        return Task.CompletedTask;
    }

    public async Task CreateReminderAsync(string type, string id, string name, string? dueTime, string? period, string? ttl, string? data, CancellationToken ct)
    {
        ValidateNames(type, id);
        ValidateName(name, "reminder");
        var scheduler = Reminders(type);
        ActorSchedule schedule;
        try
        {
            schedule = ActorSchedule.Parse(dueTime, period, ttl, Placement.Time.GetUtcNow(), "reminder");
        }
        catch (FormatException ex)
        {
            throw ActorErrors.ReminderCreate(ex.Message);
        }

        JsonElement? json = null;
        if (!string.IsNullOrEmpty(data))
        {
            using var doc = JsonDocument.Parse(data);
            json = doc.RootElement.Clone();
        }

        var reminder = new StoredReminder
        {
            ActorId = id,
            ActorType = type,
            Name = name,
            Data = json,
            DueTime = dueTime,
            Period = string.IsNullOrEmpty(period) ? null : period,
            RegisteredTime = schedule.FirstDue,
            ExpirationTime = schedule.Expires,
            RepetitionsLeft = schedule.Period.Repetitions,
        };
        try
        {
            await scheduler.CreateAsync(reminder, ct);
        }
        catch (Exception ex) when (ex is not DaprApiException and not OperationCanceledException)
        {
            throw ActorErrors.ReminderCreate(ex.Message);
        }
    }

    public async Task<StoredReminder> GetReminderAsync(string type, string id, string name, CancellationToken ct)
    {
        ValidateNames(type, id);
        var scheduler = Reminders(type);
        StoredReminder? reminder;
        try
        {
            reminder = await scheduler.GetAsync(id, name, ct);
        }
        catch (Exception ex) when (ex is not DaprApiException and not OperationCanceledException)
        {
            throw ActorErrors.ReminderGet(ex.Message);
        }

        return reminder ?? throw ActorErrors.ReminderNotFound(name);
    }

    public async Task DeleteReminderAsync(string type, string id, string name, CancellationToken ct)
    {
        ValidateNames(type, id);
        var scheduler = Reminders(type);
        try
        {
            await scheduler.DeleteAsync(id, name, ct);
        }
        catch (Exception ex) when (ex is not DaprApiException and not OperationCanceledException)
        {
            throw ActorErrors.ReminderDelete(ex.Message);
        }
    }

    /// <summary>daprd's <c>GetActorReminder</c> answer fields: dueTime and period as registered, ttl as the expiry time.</summary>
    public static (string? DueTime, string? Period, string? Ttl) Describe(StoredReminder r) =>
        (string.IsNullOrEmpty(r.DueTime) ? null : r.DueTime,
         string.IsNullOrEmpty(r.Period) ? null : r.Period,
         r.ExpirationTime?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));

    private ReminderScheduler Reminders(string type)
    {
        if (ActorStateStore.Find(sidecar.Components) is null)
        {
            throw ActorErrors.RuntimeNotFound();
        }

        // daprd only takes reminder operations for the types its own app hosts.
        if (!Host.Config.Types.ContainsKey(type))
        {
            throw ActorErrors.ReminderNotHosted();
        }

        return Placement.RemindersOf(type) ?? throw ActorErrors.ReminderNotHosted();
    }

    private IStateStore Store() => ActorStateStore.Find(sidecar.Components)?.Store ?? throw ActorErrors.RuntimeNotFound();

    private static TimeSpan? Ttl(IReadOnlyDictionary<string, string>? metadata, IStateStore store)
    {
        if (metadata is null || !metadata.TryGetValue("ttlInSeconds", out var text))
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds) || seconds < -1)
        {
            throw ActorErrors.StateTransaction($"incorrect value for metadata 'ttlInSeconds': '{text}'");
        }

        if (seconds >= 0 && !store.Features.HasFlag(StateStoreFeatures.Ttl))
        {
            throw ActorErrors.StateTransaction("the actor state store does not support ttlInSeconds");
        }

        return seconds == -1 ? null : TimeSpan.FromSeconds(seconds);
    }

    private static void ValidateNames(string type, string id)
    {
        ValidateName(type, "actorType");
        ValidateName(id, "actorId");
    }

    private static void ValidateName(string value, string what)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw ActorErrors.BadRequest($"invalid {what}: name is empty");
        }

        if (value.Contains(ActorStateStore.Separator, StringComparison.Ordinal))
        {
            throw ActorErrors.BadRequest($"invalid {what}: '{value}' contains '{ActorStateStore.Separator}'");
        }
    }
}
