using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.State;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dapr.DevSidecar.Tests;

/// <summary>
/// state.sqlite applies the <c>_pragma=name(value)</c> options of a <c>file:</c> connection string, as
/// daprd does. In WAL mode it checkpoints off the commit path (a commit never waits for the WAL to be
/// copied into the database file) unless the connection string sets <c>wal_autocheckpoint</c>.
/// </summary>
[Trait("Area", "DevSidecar")]
public sealed class SqlitePragmaTests : IDisposable
{
    private const long Written = 4 << 20;

    private readonly string _dir = System.IO.Directory.CreateTempSubdirectory("devsidecar-pragma-").FullName;

    private static ComponentDefinition Sqlite(string connectionString) => new()
    {
        Name = "store",
        Type = "state.sqlite",
        SourceFile = "components/store.yaml",
        Metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["connectionString"] = connectionString },
    };

    [Fact]
    public async Task Pragmas_of_a_file_uri_are_applied_to_the_store_connections()
    {
        var file = Path.Combine(_dir, "state.db");
        await using (var store = new SqliteStateStore(Sqlite($"file:{file}?_pragma=user_version(7)&_pragma=synchronous(normal)&_txlock=immediate"), TimeProvider.System, NullLogger.Instance))
        {
            await store.SetAsync(new StateUpsert("k", "v"u8.ToArray(), null, StateConcurrency.LastWrite, null), CancellationToken.None);
            Assert.NotNull(await store.GetAsync("k", CancellationToken.None));
        }

        // user_version is kept in the file header, so another connection sees that the pragma ran.
        await using var check = new SqliteConnection($"Data Source={file};Pooling=false");
        await check.OpenAsync();
        await using var cmd = check.CreateCommand();
        cmd.CommandText = "PRAGMA user_version;";
        Assert.Equal(7L, (long)(await cmd.ExecuteScalarAsync())!);
    }

    [Theory]
    [InlineData("busy_timeout(100)", "busyTimeout")]
    [InlineData("journal_mode(DELETE)", "disableWAL")]
    [InlineData("foreign_keys(1)", "foreign_keys")]
    [InlineData("synchronous", "name(value)")]
    public void Forbidden_or_malformed_pragmas_fail_at_load_naming_the_field(string pragma, string hint)
    {
        var ex = Assert.Throws<ComponentLoadException>(() =>
            new SqliteStateStore(Sqlite($"file:{Path.Combine(_dir, "bad.db")}?_pragma={pragma}"), TimeProvider.System, NullLogger.Instance));
        Assert.Equal("components/store.yaml", ex.File);
        Assert.Equal("spec.metadata[connectionString]", ex.Field);
        Assert.Contains(hint, ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_background_checkpoint_moves_committed_frames_into_the_database_file()
    {
        var file = Path.Combine(_dir, "background.db");
        await using var store = new SqliteStateStore(Sqlite(file), TimeProvider.System, NullLogger.Instance);

        await WriteAsync(store);

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((store.Checkpoints == 0 || new FileInfo(file).Length < Written) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(store.Checkpoints > 0, "no background checkpoint ran");
        Assert.True(new FileInfo(file).Length >= Written, $"the database file holds {new FileInfo(file).Length} bytes after the checkpoint");
        Assert.Equal(600, (await store.GetManyAsync([.. Enumerable.Range(0, 600).Select(i => $"k{i}")], CancellationToken.None)).Count);
    }

    [Fact]
    public async Task A_wal_that_a_background_checkpoint_could_not_finish_restarts_at_the_next_commit()
    {
        // Under steady load some commit lands while every background checkpoint runs, so none copies
        // every frame and SQLite never writes the WAL from its beginning again: it grew by gigabytes.
        // Here a reader's snapshot plays those commits: it keeps the checkpoint from the last frames.
        var file = Path.Combine(_dir, "steady.db");
        await using var store = new SqliteStateStore(Sqlite(file), TimeProvider.System, NullLogger.Instance);
        var value = new byte[2000];
        await store.SetAsync(new StateUpsert("a", value, null, StateConcurrency.LastWrite, null), CancellationToken.None);
        // Its background checkpoint first, so none is pending: the next one to run is the big commit's.
        await WaitForCheckpointAsync(store, 0);

        await using (var reader = new SqliteConnection($"Data Source={file};Pooling=false"))
        {
            await reader.OpenAsync();
            await using var snapshot = reader.BeginTransaction(deferred: true);
            await using var read = reader.CreateCommand();
            read.Transaction = snapshot;
            read.CommandText = "SELECT count(*) FROM sqlite_master;";
            await read.ExecuteScalarAsync();

            // One commit past the WAL length from which the loop restarts the WAL (two pages per row),
            // and its background checkpoint, which the snapshot keeps from copying every frame.
            var before = store.Checkpoints;
            var big = new byte[6000];
            Random.Shared.NextBytes(big);
            await store.ExecuteTransactionAsync(
                [.. Enumerable.Range(0, (int)SqliteGroupCommit.RestartAfterFrames / 2).Select(i => new StateUpsert($"big{i}", big, null, StateConcurrency.LastWrite, null))],
                CancellationToken.None);
            await WaitForCheckpointAsync(store, before);
        }

        var sequence = WalCheckpointSequence(file + "-wal");
        Assert.Equal(0, store.WalRestarts);

        // Before its next group the loop copies what the checkpoint left and restarts the WAL.
        await store.SetAsync(new StateUpsert("c", value, null, StateConcurrency.LastWrite, null), CancellationToken.None);
        Assert.Equal(sequence + 1, WalCheckpointSequence(file + "-wal"));
        Assert.Equal(1, store.WalRestarts);
        Assert.Equal(3, (await store.GetManyAsync(["a", "big0", "c"], CancellationToken.None)).Count);
    }

    /// <summary>Waits until a background checkpoint has run since <paramref name="before"/> were counted.</summary>
    private static async Task WaitForCheckpointAsync(SqliteStateStore store, long before)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (store.Checkpoints == before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(store.Checkpoints > before, "no background checkpoint ran");
    }

    /// <summary>Bytes 12–15 of a WAL file's header, big-endian: incremented at every restart of the WAL.</summary>
    private static uint WalCheckpointSequence(string walFile)
    {
        using var stream = new FileStream(walFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Span<byte> header = stackalloc byte[16];
        return stream.Read(header) < 16 ? 0 : System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header[12..]);
    }

    [Fact]
    public async Task An_explicit_wal_autocheckpoint_keeps_sqlites_checkpoint_inside_the_commit()
    {
        var file = Path.Combine(_dir, "inline.db");
        await using var store = new SqliteStateStore(Sqlite($"file:{file}?_pragma=wal_autocheckpoint(100)"), TimeProvider.System, NullLogger.Instance);

        await WriteAsync(store);

        // SQLite checkpointed before the commit returned, and nothing is left to the background.
        Assert.True(new FileInfo(file).Length >= Written, $"the database file holds {new FileInfo(file).Length} bytes right after the commit");
        Assert.Equal(0, store.Checkpoints);
    }

    /// <summary>One transaction of about 6 MB: far past SQLite's 1,000-page automatic checkpoint.</summary>
    private static Task WriteAsync(SqliteStateStore store)
    {
        var value = new byte[8000];
        Random.Shared.NextBytes(value);
        return store.ExecuteTransactionAsync(
            [.. Enumerable.Range(0, 600).Select(i => new StateUpsert($"k{i}", value, null, StateConcurrency.LastWrite, null))],
            CancellationToken.None);
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
