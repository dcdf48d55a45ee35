namespace Dapr.DevSidecar.State;

/// <summary>What a state store can do; the runtime refuses operations a store lacks, as daprd does.</summary>
[Flags]
public enum StateStoreFeatures
{
    None = 0,
    ETag = 1,
    Transactional = 2,
    Ttl = 4,
}

/// <summary>Concurrency mode of a write (Dapr's CONCURRENCY_FIRST_WRITE / LAST_WRITE).</summary>
public enum StateConcurrency
{
    LastWrite,
    FirstWrite,
}

/// <summary>A stored value with its ETag and, when it has a TTL, its expiry time.</summary>
public sealed record StateEntry(byte[] Value, string ETag, DateTimeOffset? ExpiresAt);

/// <summary>An operation inside a transaction, or a single write.</summary>
public abstract record StateOperation(string Key, string? ETag, StateConcurrency Concurrency);

/// <summary>Upsert: <see cref="Ttl"/> null means "no expiry" (ttlInSeconds absent or -1).</summary>
public sealed record StateUpsert(string Key, byte[] Value, string? ETag, StateConcurrency Concurrency, TimeSpan? Ttl)
    : StateOperation(Key, ETag, Concurrency);

public sealed record StateDelete(string Key, string? ETag, StateConcurrency Concurrency)
    : StateOperation(Key, ETag, Concurrency);

/// <summary>
/// A state store component. Keys arrive already prefixed by the runtime (keyPrefix rules).
/// ETag rules, as components-contrib stores apply them:
/// <list type="bullet">
/// <item>a write or delete with an ETag that differs from the stored one, or with an ETag on a missing key, throws <see cref="ETagMismatchException"/>;</item>
/// <item>an ETag the store cannot parse throws <see cref="InvalidETagException"/>;</item>
/// <item>a first-write upsert without an ETag succeeds only when the key does not exist.</item>
/// </list>
/// </summary>
public interface IStateStore : IAsyncDisposable
{
    StateStoreFeatures Features { get; }

    /// <summary>The value, or null when missing or expired.</summary>
    Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Several values; missing keys are absent from the result.</summary>
    Task<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    Task SetAsync(StateUpsert operation, CancellationToken cancellationToken);

    Task DeleteAsync(StateDelete operation, CancellationToken cancellationToken);

    /// <summary>All or nothing. Only called when <see cref="Features"/> has <see cref="StateStoreFeatures.Transactional"/>.</summary>
    Task ExecuteTransactionAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken);
}

/// <summary>
/// A store with a component-level default TTL (state.redis's <c>ttlInSeconds</c> metadata),
/// applied to writes that do not carry their own <c>ttlInSeconds</c>.
/// </summary>
public interface IDefaultTtlStateStore
{
    TimeSpan? DefaultTtl { get; }
}

/// <summary>The ETag given does not match the stored one (gRPC Aborted, HTTP 409).</summary>
public sealed class ETagMismatchException(string key) : Exception($"possible etag mismatch. error from state store: ETag mismatch for key {key}")
{
    public string Key { get; } = key;
}

/// <summary>The ETag given is not in the store's format (gRPC InvalidArgument, HTTP 400).</summary>
public sealed class InvalidETagException(string key, string etag) : Exception($"invalid etag value: '{etag}' for key {key}")
{
    public string Key { get; } = key;
}
