using System.Globalization;
using System.Text.Json;
using Dapr;
using Dapr.Client;
using Google.Protobuf;
using Grpc.Core;

namespace Chat.Unit.Tests.Fakes;

/// <summary>
/// An in-memory <see cref="DaprClient"/> for unit tests. State follows the rules a Dapr state
/// store applies (as the dev sidecar's stores do): values are JSON bytes written with
/// the client's serializer options, numeric ETags, first-write without an ETag fails on an
/// existing key, a write with a stale ETag fails (a store declared without ETAG refuses ETags
/// and treats first-write as a plain upsert, as Cassandra does), <c>ttlInSeconds</c> expires keys on the
/// test's clock, and transactions are all or nothing, refused by stores not declared
/// transactional. Failures surface as the SDK surfaces daprd's: a <see cref="DaprException"/>
/// around an <see cref="RpcException"/> with status Aborted. Publishes are
/// recorded. APIs the services never call fail with a message naming the API.
/// </summary>
public sealed class FakeDaprClient(TimeProvider time) : DaprClient
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Store, string Key), Entry> _state = [];
    private readonly Dictionary<string, HashSet<string>> _capabilities = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);
    private readonly List<(string Store, string Key)> _reads = [];
    private readonly List<PublishedEvent> _published = [];
    private long _version;

    /// <summary>Called before each state write or delete (store, key); an exception it returns is thrown instead of writing.</summary>
    public Func<string, string, Exception?>? FailWrite { get; set; }

    /// <summary>Simulates the process dying right after <paramref name="key"/> is written: every later write fails.</summary>
    public void DieAfterWriting(string key)
    {
        var died = false;
        FailWrite = (_, written) =>
        {
            if (died)
            {
                return new RpcException(new Status(StatusCode.Unavailable, "the process is gone"));
            }

            died = written == key;
            return null;
        };
    }

    /// <summary>A live lease of gateway instance <paramref name="gateway"/> in the presence store, as the gateway writes it.</summary>
    public Task LeaseGatewayAsync(string gateway, int ttlSeconds = 10) =>
        SaveStateAsync(Chat.Domain.DaprNames.StateStores.Presence, Chat.Core.Routing.RouteKeys.GatewayLease(gateway),
            new Chat.Core.Routing.GatewayLease(gateway, time.GetUtcNow()),
            metadata: new Dictionary<string, string> { ["ttlInSeconds"] = ttlSeconds.ToString(CultureInfo.InvariantCulture) });

    /// <summary>Writes <paramref name="user"/>'s routes in the presence store (as their UserActor mirrors them): one connection per gateway given.</summary>
    public Task SaveRoutesAsync(string user, params string[] gateways) =>
        SaveStateAsync(Chat.Domain.DaprNames.StateStores.Presence, Chat.Core.Routing.RouteKeys.Routes(user),
            new Chat.Core.Routing.UserRoutes(user, gateways.Select((g, i) => new Chat.Core.Routing.UserConnection($"{user}-c{i}", $"d{i}", g, time.GetUtcNow())).ToList()));

    /// <summary>Called before each bulk read (store); an exception it returns is thrown instead of reading.</summary>
    public Func<string, Exception?>? FailBulkRead { get; set; }

    /// <summary>Called before each publish (pubsub, topic); an exception it returns is thrown instead of publishing.</summary>
    public Func<string, string, Exception?>? FailPublish { get; set; }

    public override JsonSerializerOptions JsonSerializerOptions { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>A sidecar with the presence store (ETag, transactions, TTL, as Redis or SQLite report them), on <paramref name="time"/>.</summary>
    public static FakeDaprClient WithPresenceStore(TimeProvider time) =>
        new FakeDaprClient(time).WithStore(Chat.Domain.DaprNames.StateStores.Presence, FullStore);

    /// <summary>What a store with ETags, transactions and TTL reports.</summary>
    public static readonly string[] FullStore = ["ETAG", "TRANSACTIONAL", "TTL"];

    /// <summary>A fixed test clock (wall-clock independent), at noon on a known day.</summary>
    public static Microsoft.Extensions.Time.Testing.FakeTimeProvider Noon() => new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    /// <summary>Declares a state store and what it reports in the metadata API (e.g. ETAG, TRANSACTIONAL, TTL).</summary>
    public FakeDaprClient WithStore(string name, params string[] capabilities)
    {
        _capabilities[name] = new HashSet<string>(capabilities, StringComparer.OrdinalIgnoreCase);
        return this;
    }

    /// <summary>Sets the component type the metadata API reports for a declared store (state.in-memory unless set).</summary>
    public FakeDaprClient WithStoreType(string name, string type)
    {
        _types[name] = type;
        return this;
    }

    /// <summary>Every single-key state read so far (GetState), in order.</summary>
    public IReadOnlyList<(string Store, string Key)> Reads
    {
        get
        {
            lock (_gate)
            {
                return [.. _reads];
            }
        }
    }

    /// <summary>Every event published so far, in order.</summary>
    public IReadOnlyList<PublishedEvent> Published
    {
        get
        {
            lock (_gate)
            {
                return [.. _published];
            }
        }
    }

    /// <summary>The protobuf events published to <paramref name="topic"/>, parsed.</summary>
    public List<T> Events<T>(string topic) where T : IMessage<T>, new() =>
        Published.Where(p => p.Topic == topic).Select(p => new MessageParser<T>(() => new T()).ParseFrom(p.Data)).ToList();

    /// <summary>Keys of <paramref name="store"/> that are live now.</summary>
    public IReadOnlyList<string> Keys(string store)
    {
        lock (_gate)
        {
            return _state.Keys.Where(k => k.Store == store && Live(k) is not null).Select(k => k.Key).ToList();
        }
    }

    /// <summary>The TTL a key was written with, or null.</summary>
    public DateTimeOffset? ExpiresAt(string store, string key)
    {
        lock (_gate)
        {
            return Live((store, key))?.ExpiresAt;
        }
    }

    // ---- State ----

    public override Task<TValue> GetStateAsync<TValue>(string storeName, string key, ConsistencyMode? consistencyMode = null,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _reads.Add((storeName, key));
            return Task.FromResult(Deserialize<TValue>(Live((storeName, key))));
        }
    }

    public override Task<(TValue value, string etag)> GetStateAndETagAsync<TValue>(string storeName, string key, ConsistencyMode? consistencyMode = null,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var entry = Live((storeName, key));
            return Task.FromResult((Deserialize<TValue>(entry), ETagOf(storeName, entry)));
        }
    }

    public override Task<IReadOnlyList<BulkStateItem<TValue>>> GetBulkStateAsync<TValue>(string storeName, IReadOnlyList<string> keys, int? parallelism,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        if (FailBulkRead?.Invoke(storeName) is { } injected)
        {
            return Task.FromException<IReadOnlyList<BulkStateItem<TValue>>>(injected);
        }

        lock (_gate)
        {
            // Like daprd: one item per key asked, with no value for missing keys.
            IReadOnlyList<BulkStateItem<TValue>> items = keys.Select(k =>
            {
                var entry = Live((storeName, k));
                return new BulkStateItem<TValue>(k, Deserialize<TValue>(entry), ETagOf(storeName, entry));
            }).ToList();
            return Task.FromResult(items);
        }
    }

    public override Task<IReadOnlyList<BulkStateItem>> GetBulkStateAsync(string storeName, IReadOnlyList<string> keys, int? parallelism,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        if (FailBulkRead?.Invoke(storeName) is { } injected)
        {
            return Task.FromException<IReadOnlyList<BulkStateItem>>(injected);
        }

        lock (_gate)
        {
            IReadOnlyList<BulkStateItem> items = keys.Select(k =>
            {
                var entry = Live((storeName, k));
                return new BulkStateItem(k, entry is null ? "" : System.Text.Encoding.UTF8.GetString(entry.Value), ETagOf(storeName, entry));
            }).ToList();
            return Task.FromResult(items);
        }
    }

    public override Task<ReadOnlyMemory<byte>> GetByteStateAsync(string storeName, string key, ConsistencyMode? consistencyMode = null,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult<ReadOnlyMemory<byte>>(Live((storeName, key))?.Value ?? []);
        }
    }

    public override Task<(ReadOnlyMemory<byte>, string etag)> GetByteStateAndETagAsync(string storeName, string key, ConsistencyMode? consistencyMode = null,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var entry = Live((storeName, key));
            return Task.FromResult<(ReadOnlyMemory<byte>, string)>((entry?.Value ?? [], ETagOf(storeName, entry)));
        }
    }

    public override Task SaveStateAsync<TValue>(string storeName, string key, TValue value, StateOptions? stateOptions = null,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
        Apply(storeName, [new Op(key, Serialize(value), null, FirstWrite(stateOptions), metadata)]);

    public override Task SaveByteStateAsync(string storeName, string key, ReadOnlyMemory<byte> binaryValue, StateOptions? stateOptions = null,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
        Apply(storeName, [new Op(key, binaryValue.ToArray(), null, FirstWrite(stateOptions), metadata)]);

    public override async Task<bool> TrySaveStateAsync<TValue>(string storeName, string key, TValue value, string etag, StateOptions? stateOptions = null,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
        await Aborts(Apply(storeName, [new Op(key, Serialize(value), etag, FirstWrite(stateOptions), metadata)]));

    public override async Task<bool> TrySaveByteStateAsync(string storeName, string key, ReadOnlyMemory<byte> binaryValue, string etag, StateOptions? stateOptions = null,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
        await Aborts(Apply(storeName, [new Op(key, binaryValue.ToArray(), etag, FirstWrite(stateOptions), metadata)]));

    public override Task SaveBulkStateAsync<TValue>(string storeName, IReadOnlyList<SaveStateItem<TValue>> items, CancellationToken cancellationToken = default) =>
        Task.WhenAll(items.Select(i => Apply(storeName, [new Op(i.Key, Serialize(i.Value), i.ETag, FirstWrite(i.StateOptions), i.Metadata)])));

    public override Task DeleteStateAsync(string storeName, string key, StateOptions? stateOptions = null,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
        Apply(storeName, [new Op(key, null, null, false, metadata)]);

    public override async Task<bool> TryDeleteStateAsync(string storeName, string key, string etag, StateOptions? stateOptions = null,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
        await Aborts(Apply(storeName, [new Op(key, null, etag, false, metadata)]));

    public override Task DeleteBulkStateAsync(string storeName, IReadOnlyList<BulkDeleteStateItem> items, CancellationToken cancellationToken = default) =>
        Task.WhenAll(items.Select(i => Apply(storeName, [new Op(i.Key, null, i.ETag, false, i.Metadata)])));

    /// <summary>All or nothing: ETags and first-write (the operation's <see cref="StateTransactionRequest.Options"/>) are checked for every operation before any is applied.</summary>
    public override Task ExecuteStateTransactionAsync(string storeName, IReadOnlyList<StateTransactionRequest> operations,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        if (!(_capabilities.TryGetValue(storeName, out var caps) && caps.Contains("TRANSACTIONAL")))
        {
            throw Failed(StatusCode.InvalidArgument, $"state store {storeName} is missing or does not support transactions");
        }

        return Apply(storeName, operations.Select(o => new Op(o.Key, o.OperationType == StateOperationType.Delete ? null : o.Value ?? [], o.ETag, FirstWrite(o.Options), o.Metadata)).ToList());
    }

    private Task Apply(string store, IReadOnlyList<Op> ops)
    {
        foreach (var op in ops)
        {
            if (FailWrite?.Invoke(store, op.Key) is { } injected)
            {
                return Task.FromException(injected);
            }
        }

        var etags = HasETags(store);
        lock (_gate)
        {
            // Check every operation first so a failing one leaves nothing applied.
            foreach (var op in ops)
            {
                if (!etags)
                {
                    // As daprd: an ETag is refused; first-write is a plain upsert (e.g. Cassandra's unconditional INSERT).
                    if (!string.IsNullOrEmpty(op.ETag))
                    {
                        return Task.FromException(Failed(StatusCode.InvalidArgument, $"state store {store} doesn't support ETags"));
                    }

                    continue;
                }

                var current = Live((store, op.Key));
                if (!string.IsNullOrEmpty(op.ETag) && current?.ETag != op.ETag)
                {
                    return Task.FromException(Failed(StatusCode.Aborted, $"possible etag mismatch on {op.Key}"));
                }

                if (string.IsNullOrEmpty(op.ETag) && op.FirstWrite && op.Value is not null && current is not null)
                {
                    return Task.FromException(Failed(StatusCode.Aborted, $"first-write: {op.Key} exists"));
                }
            }

            var now = time.GetUtcNow();
            foreach (var op in ops)
            {
                if (op.Value is null)
                {
                    _state.Remove((store, op.Key));
                    continue;
                }

                var expires = op.Metadata is not null && op.Metadata.TryGetValue("ttlInSeconds", out var ttl)
                    && long.TryParse(ttl, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0
                    ? now.AddSeconds(seconds)
                    : (DateTimeOffset?)null;
                _state[(store, op.Key)] = new Entry(op.Value, (++_version).ToString(CultureInfo.InvariantCulture), expires);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Stores not declared with <see cref="WithStore"/> behave as stores with ETags.</summary>
    private bool HasETags(string store) => !_capabilities.TryGetValue(store, out var caps) || caps.Contains("ETAG");

    private string ETagOf(string store, Entry? entry) => entry is not null && HasETags(store) ? entry.ETag : "";

    private Entry? Live((string Store, string Key) key)
    {
        if (!_state.TryGetValue(key, out var entry))
        {
            return null;
        }

        if (entry.ExpiresAt is { } at && at <= time.GetUtcNow())
        {
            _state.Remove(key);
            return null;
        }

        return entry;
    }

    private static async Task<bool> Aborts(Task write)
    {
        try
        {
            await write;
            return true;
        }
        catch (DaprException ex) when (ex.InnerException is RpcException { StatusCode: StatusCode.Aborted })
        {
            return false;
        }
    }

    private static bool FirstWrite(StateOptions? options) => options?.Concurrency == ConcurrencyMode.FirstWrite;

    private byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, JsonSerializerOptions);

    private T Deserialize<T>(Entry? entry) => entry is null ? default! : JsonSerializer.Deserialize<T>(entry.Value, JsonSerializerOptions)!;

    /// <summary>What the SDK throws when daprd answers a state call with <paramref name="code"/>.</summary>
    public static DaprException Failed(StatusCode code, string detail) =>
        new("State operation failed: the Dapr endpoint indicated a failure. See InnerException for details.", new RpcException(new Status(code, detail)));

    private sealed record Entry(byte[] Value, string ETag, DateTimeOffset? ExpiresAt);

    private sealed record Op(string Key, byte[]? Value, string? ETag, bool FirstWrite, IReadOnlyDictionary<string, string>? Metadata);

    // ---- Pub/sub ----

    public override Task PublishByteEventAsync(string pubsubName, string topicName, ReadOnlyMemory<byte> data, string dataContentType = "application/json",
        Dictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
        Record(pubsubName, topicName, data.ToArray(), dataContentType);

    public override Task PublishEventAsync<TData>(string pubsubName, string topicName, TData data, CancellationToken cancellationToken = default) =>
        Record(pubsubName, topicName, Serialize(data), "application/json");

    public override Task PublishEventAsync<TData>(string pubsubName, string topicName, TData data, Dictionary<string, string> metadata, CancellationToken cancellationToken = default) =>
        Record(pubsubName, topicName, Serialize(data), "application/json");

    public override Task PublishEventAsync(string pubsubName, string topicName, CancellationToken cancellationToken = default) =>
        Record(pubsubName, topicName, [], "");

    public override Task PublishEventAsync(string pubsubName, string topicName, Dictionary<string, string> metadata, CancellationToken cancellationToken = default) =>
        Record(pubsubName, topicName, [], "");

    public override Task<BulkPublishResponse<TValue>> BulkPublishEventAsync<TValue>(string pubsubName, string topicName, IReadOnlyList<TValue> events,
        Dictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
        throw Unsupported(nameof(BulkPublishEventAsync));

    private Task Record(string pubsub, string topic, byte[] data, string contentType)
    {
        if (FailPublish?.Invoke(pubsub, topic) is { } injected)
        {
            return Task.FromException(injected);
        }

        lock (_gate)
        {
            _published.Add(new PublishedEvent(pubsub, topic, data, contentType));
        }

        return Task.CompletedTask;
    }

    // ---- Metadata and invocation ----

    public override Task<DaprMetadata> GetMetadataAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(new DaprMetadata("unit", [], new Dictionary<string, string>(),
            _capabilities.Select(c => new DaprComponentsMetadata(c.Key, _types.GetValueOrDefault(c.Key, "state.in-memory"), "v1", [.. c.Value])).ToList()));

    // Service invocation: the services call each other through gRPC proxying (a CallInvoker, see FakeDirectory), not these.
    private const string ObsoleteInSdk = "Obsolete in the Dapr SDK; the services use gRPC proxying.";

    [Obsolete(ObsoleteInSdk)]
    public override Task<TResponse> InvokeMethodGrpcAsync<TRequest, TResponse>(string appId, string methodName, TRequest data, CancellationToken cancellationToken = default) =>
        throw Unsupported(nameof(InvokeMethodGrpcAsync));

    [Obsolete(ObsoleteInSdk)]
    public override Task<TResponse> InvokeMethodGrpcAsync<TResponse>(string appId, string methodName, CancellationToken cancellationToken = default) =>
        throw Unsupported(nameof(InvokeMethodGrpcAsync));

    [Obsolete(ObsoleteInSdk)]
    public override Task InvokeMethodGrpcAsync<TRequest>(string appId, string methodName, TRequest data, CancellationToken cancellationToken = default) =>
        throw Unsupported(nameof(InvokeMethodGrpcAsync));

    [Obsolete(ObsoleteInSdk)]
    public override Task InvokeMethodGrpcAsync(string appId, string methodName, CancellationToken cancellationToken = default) =>
        throw Unsupported(nameof(InvokeMethodGrpcAsync));

    public override Task<bool> CheckHealthAsync(CancellationToken cancellationToken = default) => Task.FromResult(true);

    public override Task<bool> CheckOutboundHealthAsync(CancellationToken cancellationToken = default) => Task.FromResult(true);

    public override Task WaitForSidecarAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    // ---- Not used by the services under test: a clear failure naming the API ----

    private static NotSupportedException Unsupported(string api) =>
        new($"FakeDaprClient does not implement {api}; no service logic under unit test calls it.");

    public override HttpClient CreateInvokableHttpClient(string? appId = null) => throw Unsupported(nameof(CreateInvokableHttpClient));

    public override HttpRequestMessage CreateInvokeMethodRequest(HttpMethod httpMethod, string appId, string methodName) => throw Unsupported(nameof(CreateInvokeMethodRequest));

    public override HttpRequestMessage CreateInvokeMethodRequest(HttpMethod httpMethod, string appId, string methodName, IReadOnlyCollection<KeyValuePair<string, string>> queryStringParameters) =>
        throw Unsupported(nameof(CreateInvokeMethodRequest));

    public override HttpRequestMessage CreateInvokeMethodRequest<TRequest>(HttpMethod httpMethod, string appId, string methodName,
        IReadOnlyCollection<KeyValuePair<string, string>> queryStringParameters, TRequest data) => throw Unsupported(nameof(CreateInvokeMethodRequest));

    [Obsolete(ObsoleteInSdk)]
    public override Task InvokeMethodAsync(HttpRequestMessage request, CancellationToken cancellationToken = default) => throw Unsupported(nameof(InvokeMethodAsync));

    [Obsolete(ObsoleteInSdk)]
    public override Task<TResponse> InvokeMethodAsync<TResponse>(HttpRequestMessage request, CancellationToken cancellationToken = default) => throw Unsupported(nameof(InvokeMethodAsync));

    [Obsolete(ObsoleteInSdk)]
    public override Task<HttpResponseMessage> InvokeMethodWithResponseAsync(HttpRequestMessage request, CancellationToken cancellationToken = default) =>
        throw Unsupported(nameof(InvokeMethodWithResponseAsync));

    public override Task InvokeBindingAsync<TRequest>(string bindingName, string operation, TRequest data, IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default) => throw Unsupported(nameof(InvokeBindingAsync));

    public override Task<TResponse> InvokeBindingAsync<TRequest, TResponse>(string bindingName, string operation, TRequest data, IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default) => throw Unsupported(nameof(InvokeBindingAsync));

    public override Task<BindingResponse> InvokeBindingAsync(BindingRequest request, CancellationToken cancellationToken = default) => throw Unsupported(nameof(InvokeBindingAsync));

    public override Task<StateQueryResponse<TValue>> QueryStateAsync<TValue>(string storeName, string jsonQuery, IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default) => throw Unsupported(nameof(QueryStateAsync));

    public override Task<Dictionary<string, string>> GetSecretAsync(string storeName, string key, IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default) => throw Unsupported(nameof(GetSecretAsync));

    public override Task<Dictionary<string, Dictionary<string, string>>> GetBulkSecretAsync(string storeName, IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default) => throw Unsupported(nameof(GetBulkSecretAsync));

    public override Task<GetConfigurationResponse> GetConfiguration(string storeName, IReadOnlyList<string> keys, IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default) => throw Unsupported(nameof(GetConfiguration));

    public override Task<SubscribeConfigurationResponse> SubscribeConfiguration(string storeName, IReadOnlyList<string> keys, IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default) => throw Unsupported(nameof(SubscribeConfiguration));

    public override Task<UnsubscribeConfigurationResponse> UnsubscribeConfiguration(string storeName, string id, CancellationToken cancellationToken = default) =>
        throw Unsupported(nameof(UnsubscribeConfiguration));

    public override Task<ReadOnlyMemory<byte>> EncryptAsync(string vaultResourceName, ReadOnlyMemory<byte> plaintextBytes, string keyName, EncryptionOptions encryptionOptions,
        CancellationToken cancellationToken = default) => throw Unsupported(nameof(EncryptAsync));

    public override IAsyncEnumerable<ReadOnlyMemory<byte>> EncryptAsync(string vaultResourceName, Stream plaintextStream, string keyName, EncryptionOptions encryptionOptions,
        CancellationToken cancellationToken = default) => throw Unsupported(nameof(EncryptAsync));

    public override Task<ReadOnlyMemory<byte>> DecryptAsync(string vaultResourceName, ReadOnlyMemory<byte> ciphertextBytes, string keyName, DecryptionOptions options,
        CancellationToken cancellationToken = default) => throw Unsupported(nameof(DecryptAsync));

    public override Task<ReadOnlyMemory<byte>> DecryptAsync(string vaultResourceName, ReadOnlyMemory<byte> ciphertextBytes, string keyName,
        CancellationToken cancellationToken = default) => throw Unsupported(nameof(DecryptAsync));

    public override IAsyncEnumerable<ReadOnlyMemory<byte>> DecryptAsync(string vaultResourceName, Stream ciphertextStream, string keyName, DecryptionOptions options,
        CancellationToken cancellationToken = default) => throw Unsupported(nameof(DecryptAsync));

    public override IAsyncEnumerable<ReadOnlyMemory<byte>> DecryptAsync(string vaultResourceName, Stream ciphertextStream, string keyName,
        CancellationToken cancellationToken = default) => throw Unsupported(nameof(DecryptAsync));

#pragma warning disable DAPR_DISTRIBUTEDLOCK // Overrides of the SDK's evaluation-only lock API.
    public override Task<TryLockResponse> Lock(string storeName, string resourceId, string lockOwner, int expiryInSeconds, CancellationToken cancellationToken = default) =>
        throw Unsupported(nameof(Lock));

    public override Task<UnlockResponse> Unlock(string storeName, string resourceId, string lockOwner, CancellationToken cancellationToken = default) =>
        throw Unsupported(nameof(Unlock));
#pragma warning restore DAPR_DISTRIBUTEDLOCK

    public override Task SetMetadataAsync(string attributeName, string attributeValue, CancellationToken cancellationToken = default) =>
        throw Unsupported(nameof(SetMetadataAsync));

    public override Task ShutdownSidecarAsync(CancellationToken cancellationToken = default) => throw Unsupported(nameof(ShutdownSidecarAsync));

    protected override void Dispose(bool disposing)
    {
    }
}

/// <summary>One publish: where to, the payload and its content type.</summary>
public sealed record PublishedEvent(string PubSub, string Topic, byte[] Data, string ContentType);
