using Dapr.DevSidecar.Components;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.State;

/// <summary>
/// <c>state.cassandra</c> as daprd's component behaves, emulated on a local SQLite file (there is
/// no Cassandra here): the feature set components-contrib's Cassandra store reports, TTL only.
/// So the metadata API lists only <c>TTL</c>, transactions are refused, an ETag is refused as for any
/// store without ETags, and a first-write save is a plain upsert: components-contrib's
/// <c>Set</c> runs an unconditional <c>INSERT</c> whatever the concurrency mode, and its
/// <c>Delete</c> ignores ETags. Reads return no ETag. daprd's metadata is read for what it checks
/// at start (<c>hosts</c> is required); the rows go to <c>devSidecarConnectionString</c>, a SQLite
/// connection string (a dev-sidecar extension: without it the component does not load), in the
/// table named by <c>table</c> (default <c>items</c>, as daprd's).
/// </summary>
public sealed class CassandraStateStore : IStateStore
{
    private readonly SqliteStateStore _rows;

    public CassandraStateStore(ComponentDefinition def, TimeProvider time, ILogger log)
    {
        if (def.Get("hosts") is null)
        {
            throw new ComponentLoadException(def.SourceFile, "spec.metadata[hosts]", $"component '{def.Name}' (state.cassandra): missing or empty hosts field from metadata");
        }

        var file = def.Get("devSidecarConnectionString")
            ?? throw new ComponentLoadException(def.SourceFile, "spec.metadata[devSidecarConnectionString]",
                $"component '{def.Name}' (state.cassandra) is emulated by the dev sidecar on a SQLite file (Cassandra's features: TTL only); name it with devSidecarConnectionString");
        _rows = new SqliteStateStore(new ComponentDefinition
        {
            Name = def.Name,
            Type = "state.sqlite",
            SourceFile = def.SourceFile,
            Metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            {
                ["connectionString"] = file,
                ["tableName"] = def.Get("table") ?? "items",
            },
        }, time, log);
    }

    public StateStoreFeatures Features => StateStoreFeatures.Ttl;

    public async Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken) =>
        await _rows.GetAsync(key, cancellationToken) is { } entry ? WithoutETag(entry) : null;

    public async Task<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken) =>
        (await _rows.GetManyAsync(keys, cancellationToken)).ToDictionary(e => e.Key, e => WithoutETag(e.Value), StringComparer.Ordinal);

    /// <summary>An unconditional write: the concurrency mode is not looked at.</summary>
    public Task SetAsync(StateUpsert operation, CancellationToken cancellationToken) =>
        _rows.SetAsync(operation with { ETag = null, Concurrency = StateConcurrency.LastWrite }, cancellationToken);

    public Task DeleteAsync(StateDelete operation, CancellationToken cancellationToken) =>
        _rows.DeleteAsync(operation with { ETag = null, Concurrency = StateConcurrency.LastWrite }, cancellationToken);

    public Task ExecuteTransactionAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken) =>
        throw new NotSupportedException("state.cassandra does not support transactions");

    public ValueTask DisposeAsync() => _rows.DisposeAsync();

    private static StateEntry WithoutETag(StateEntry entry) => entry with { ETag = "" };
}
