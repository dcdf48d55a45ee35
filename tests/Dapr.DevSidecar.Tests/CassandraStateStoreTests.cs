using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.State;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dapr.DevSidecar.Tests;

/// <summary>state.cassandra, emulated on SQLite with what components-contrib's Cassandra store offers: TTL, nothing else.</summary>
[Trait("Area", "DevSidecar")]
public sealed class CassandraStateStoreTests : IDisposable
{
    private readonly string _dir = System.IO.Directory.CreateTempSubdirectory("devsidecar-cassandra-").FullName;

    private ComponentDefinition Cassandra(params (string Key, string Value)[] metadata) => new()
    {
        Name = "store",
        Type = "state.cassandra",
        SourceFile = "components/store.yaml",
        Metadata = metadata.Length > 0
            ? metadata.ToDictionary(m => m.Key, m => m.Value, StringComparer.OrdinalIgnoreCase)
            : new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["hosts"] = "127.0.0.1", ["devSidecarConnectionString"] = Path.Combine(_dir, "c.db") },
    };

    [Fact]
    public async Task A_first_write_overwrites_as_an_unconditional_insert_and_reads_carry_no_etag()
    {
        await using var store = new CassandraStateStore(Cassandra(), TimeProvider.System, NullLogger.Instance);
        Assert.Equal(StateStoreFeatures.Ttl, store.Features);
        await store.SetAsync(new StateUpsert("k", "first"u8.ToArray(), null, StateConcurrency.FirstWrite, null), CancellationToken.None);
        await store.SetAsync(new StateUpsert("k", "second"u8.ToArray(), null, StateConcurrency.FirstWrite, null), CancellationToken.None);
        var entry = await store.GetAsync("k", CancellationToken.None);
        Assert.Equal("second"u8.ToArray(), entry!.Value);
        Assert.Equal("", entry.ETag);
        await store.SetAsync(new StateUpsert("t", "x"u8.ToArray(), null, StateConcurrency.LastWrite, TimeSpan.FromMinutes(5)), CancellationToken.None);
        Assert.NotNull((await store.GetManyAsync(["t", "missing"], CancellationToken.None))["t"].ExpiresAt);
        await Assert.ThrowsAsync<NotSupportedException>(() => store.ExecuteTransactionAsync([], CancellationToken.None));
    }

    [Theory]
    [InlineData("hosts")]
    [InlineData("devSidecarConnectionString")]
    public void Missing_metadata_stops_the_load_naming_the_field(string missing)
    {
        var metadata = new[] { ("hosts", "127.0.0.1"), ("devSidecarConnectionString", Path.Combine(_dir, "c.db")) }.Where(m => m.Item1 != missing).ToArray();
        var ex = Assert.Throws<ComponentLoadException>(() => new CassandraStateStore(Cassandra(metadata), TimeProvider.System, NullLogger.Instance));
        Assert.Equal($"spec.metadata[{missing}]", ex.Field);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
