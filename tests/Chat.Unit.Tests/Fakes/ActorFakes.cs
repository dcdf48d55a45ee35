using System.Reflection;
using System.Text.Json;
using Dapr.Actors.Runtime;

namespace Chat.Unit.Tests.Fakes;

/// <summary>Reminders and timers registered by an actor under test; nothing fires by itself (tests call the callbacks).</summary>
public sealed class FakeTimerManager : ActorTimerManager
{
    public Dictionary<string, ActorReminder> Reminders { get; } = new(StringComparer.Ordinal);

    public int ReminderRegistrations { get; private set; }

    public override Task RegisterReminderAsync(ActorReminder reminder)
    {
        Reminders[reminder.Name] = reminder;
        ReminderRegistrations++;
        return Task.CompletedTask;
    }

    public override Task<IActorReminder> GetReminderAsync(ActorReminderToken reminder) =>
        Task.FromResult<IActorReminder>(Reminders.GetValueOrDefault(reminder.Name)!);

    public override Task UnregisterReminderAsync(ActorReminderToken reminder)
    {
        Reminders.Remove(reminder.Name);
        return Task.CompletedTask;
    }

    public override Task RegisterTimerAsync(ActorTimer timer) => Task.CompletedTask;

    public override Task UnregisterTimerAsync(ActorTimerToken timer) => Task.CompletedTask;
}

/// <summary>
/// Actor state as the runtime keeps it between activations: a dictionary of JSON values, committed
/// by <see cref="SaveStateAsync"/>. A new manager over the same <see cref="Saved"/> is a new activation.
/// </summary>
public sealed class InMemoryActorStateManager(Dictionary<string, byte[]> saved) : IActorStateManager
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Dictionary<string, byte[]?> _pending = new(StringComparer.Ordinal);

    public Dictionary<string, byte[]> Saved => saved;

    public int Saves { get; private set; }

    private bool TryRead<T>(string name, out T value)
    {
        if (_pending.TryGetValue(name, out var pending))
        {
            value = pending is null ? default! : JsonSerializer.Deserialize<T>(pending, Json)!;
            return pending is not null;
        }

        if (saved.TryGetValue(name, out var bytes))
        {
            value = JsonSerializer.Deserialize<T>(bytes, Json)!;
            return true;
        }

        value = default!;
        return false;
    }

    public Task<ConditionalValue<T>> TryGetStateAsync<T>(string stateName, CancellationToken cancellationToken = default) =>
        Task.FromResult(TryRead<T>(stateName, out var v) ? new ConditionalValue<T>(true, v) : new ConditionalValue<T>(false, default!));

    public Task<T> GetStateAsync<T>(string stateName, CancellationToken cancellationToken = default) =>
        TryRead<T>(stateName, out var v) ? Task.FromResult(v) : throw new KeyNotFoundException($"Actor state {stateName} does not exist.");

    public Task SetStateAsync<T>(string stateName, T value, CancellationToken cancellationToken = default)
    {
        _pending[stateName] = JsonSerializer.SerializeToUtf8Bytes(value, Json);
        return Task.CompletedTask;
    }

    public Task SetStateAsync<T>(string stateName, T value, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        SetStateAsync(stateName, value, cancellationToken);

    public Task SaveStateAsync(CancellationToken cancellationToken = default)
    {
        foreach (var (name, value) in _pending)
        {
            if (value is null)
            {
                saved.Remove(name);
            }
            else
            {
                saved[name] = value;
            }
        }

        _pending.Clear();
        Saves++;
        return Task.CompletedTask;
    }

    public Task<bool> ContainsStateAsync(string stateName, CancellationToken cancellationToken = default) => Task.FromResult(TryRead<JsonElement>(stateName, out _));

    public Task RemoveStateAsync(string stateName, CancellationToken cancellationToken = default)
    {
        _pending[stateName] = null;
        return Task.CompletedTask;
    }

    public async Task<bool> TryRemoveStateAsync(string stateName, CancellationToken cancellationToken = default)
    {
        var exists = await ContainsStateAsync(stateName, cancellationToken);
        _pending[stateName] = null;
        return exists;
    }

    public Task AddStateAsync<T>(string stateName, T value, CancellationToken cancellationToken = default) =>
        TryRead<T>(stateName, out _) ? throw new InvalidOperationException($"Actor state {stateName} exists.") : SetStateAsync(stateName, value, cancellationToken);

    public Task AddStateAsync<T>(string stateName, T value, TimeSpan ttl, CancellationToken cancellationToken = default) => AddStateAsync(stateName, value, cancellationToken);

    public async Task<bool> TryAddStateAsync<T>(string stateName, T value, CancellationToken cancellationToken = default)
    {
        if (TryRead<T>(stateName, out _))
        {
            return false;
        }

        await SetStateAsync(stateName, value, cancellationToken);
        return true;
    }

    public Task<bool> TryAddStateAsync<T>(string stateName, T value, TimeSpan ttl, CancellationToken cancellationToken = default) => TryAddStateAsync(stateName, value, cancellationToken);

    public async Task<T> GetOrAddStateAsync<T>(string stateName, T value, CancellationToken cancellationToken = default)
    {
        if (TryRead<T>(stateName, out var current))
        {
            return current;
        }

        await SetStateAsync(stateName, value, cancellationToken);
        return value;
    }

    public Task<T> GetOrAddStateAsync<T>(string stateName, T value, TimeSpan ttl, CancellationToken cancellationToken = default) => GetOrAddStateAsync(stateName, value, cancellationToken);

    public async Task<T> AddOrUpdateStateAsync<T>(string stateName, T addValue, Func<string, T, T> updateValueFactory, CancellationToken cancellationToken = default)
    {
        var next = TryRead<T>(stateName, out var current) ? updateValueFactory(stateName, current) : addValue;
        await SetStateAsync(stateName, next, cancellationToken);
        return next;
    }

    public Task<T> AddOrUpdateStateAsync<T>(string stateName, T addValue, Func<string, T, T> updateValueFactory, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        AddOrUpdateStateAsync(stateName, addValue, updateValueFactory, cancellationToken);

    public Task ClearCacheAsync(CancellationToken cancellationToken = default)
    {
        _pending.Clear();
        return Task.CompletedTask;
    }

    public Task UnloadStateAsync(string stateName, UnloadStateOptions? options = null, CancellationToken cancellationToken = default)
    {
        _pending.Remove(stateName);
        return Task.CompletedTask;
    }
}

/// <summary>What the actor runtime does around an actor that tests have to do by hand.</summary>
public static class ActorRuntimeSteps
{
    /// <summary>Activates the actor as the runtime does before its first call (OnActivateAsync is protected).</summary>
    public static Task ActivateAsync(Actor actor) =>
        (Task)typeof(Actor).GetMethod("OnActivateAsync", BindingFlags.Instance | BindingFlags.NonPublic)!.Invoke(actor, null)!;

    /// <summary>
    /// Gives the actor a state manager. The runtime builds one over the sidecar; a host from
    /// <see cref="ActorHost.CreateForTest{TActor}(ActorTestOptions)"/> has no sidecar to build it over.
    /// </summary>
    public static void UseStateManager(Actor actor, IActorStateManager manager) =>
        typeof(Actor).GetProperty(nameof(Actor.StateManager))!.SetValue(actor, manager);
}

/// <summary>
/// The sidecar's actor API as an actor proxy reaches it over HTTP (<c>PUT /v1.0/actors/{type}/{id}/method/{method}</c>
/// with a JSON body): records each call and answers 200, or 500 while <see cref="Failing"/>.
/// </summary>
public sealed class ActorCallRecorder : HttpMessageHandler
{
    private readonly List<(string ActorType, string ActorId, string Method, string Body)> _calls = [];

    /// <summary>While true, every call fails as an unreachable actor host would.</summary>
    public bool Failing { get; set; }

    public IReadOnlyList<(string ActorType, string ActorId, string Method, string Body)> Calls
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>A proxy factory whose calls end here.</summary>
    public Dapr.Actors.Client.ActorProxyFactory Factory() =>
        new(new Dapr.Actors.Client.ActorProxyOptions { HttpEndpoint = "http://127.0.0.1:1" }, this);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // /v1.0/actors/{type}/{id}/method/{method}
        var parts = request.RequestUri!.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts is not ["v1.0", "actors", var type, var id, "method", var method] || request.Method != HttpMethod.Put)
        {
            return new HttpResponseMessage(System.Net.HttpStatusCode.NotFound);
        }

        if (Failing)
        {
            return new HttpResponseMessage(System.Net.HttpStatusCode.InternalServerError)
            {
                Content = new StringContent("{\"errorCode\":\"ERR_ACTOR_INVOKE_METHOD\",\"message\":\"the actor host is unreachable\"}"),
            };
        }

        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        lock (_calls)
        {
            _calls.Add((type, Uri.UnescapeDataString(id), method, body));
        }

        return new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StringContent("") };
    }
}
