using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.State;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dapr.DevSidecar.Tests;

/// <summary>
/// state.sqlite's group commit: concurrent writers of one file share transactions (and fsyncs),
/// yet each keeps its own outcome, all or nothing.
/// </summary>
[Trait("Area", "DevSidecar")]
public sealed class SqliteGroupCommitTests : IAsyncLifetime
{
    private readonly string _dir = System.IO.Directory.CreateTempSubdirectory("devsidecar-group-").FullName;
    private SqliteStateStore _store = null!;

    public Task InitializeAsync()
    {
        _store = new SqliteStateStore(new ComponentDefinition
        {
            Name = "store",
            Type = "state.sqlite",
            SourceFile = "components/store.yaml",
            Metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["connectionString"] = Path.Combine(_dir, "state.db"), ["busyTimeout"] = "30s" },
        }, TimeProvider.System, NullLogger.Instance);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Concurrent_writers_share_commits_and_each_gets_its_own_outcome()
    {
        await _store.SetAsync(Upsert("taken"), CancellationToken.None);
        var before = _store.Commits;

        // Another connection holds the file's write lock, so whichever writer leads waits in
        // BEGIN IMMEDIATE while the others queue behind it, as writers on other threads do under load.
        await using var holder = new SqliteConnection($"Data Source={Path.Combine(_dir, "state.db")}");
        holder.Open();
        Exec(holder, "BEGIN IMMEDIATE;");
        var returned = 0;
        Task Start(Func<Task> write) => Task.Run(() =>
        {
            var pending = write();
            Interlocked.Increment(ref returned);
            return pending;
        });

        // 64 new keys, and 16 transactions that each insert a key and then fail on a stale ETag.
        var inserts = Enumerable.Range(0, 64).Select(i => Start(() => _store.SetAsync(Upsert($"k{i}"), CancellationToken.None))).ToList();
        var doomed = Enumerable.Range(0, 16).Select(i => Start(() => _store.ExecuteTransactionAsync(
            [Upsert($"lost{i}"), new StateUpsert("taken", "x"u8.ToArray(), "not-the-etag", StateConcurrency.LastWrite, null)],
            CancellationToken.None))).ToList();

        // Every writer but the leader returns as soon as its request is queued.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (Volatile.Read(ref returned) < 79 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        Assert.Equal(79, Volatile.Read(ref returned));
        Exec(holder, "COMMIT;");

        await Task.WhenAll(inserts);
        foreach (var failing in doomed)
        {
            await Assert.ThrowsAsync<ETagMismatchException>(() => failing);
        }

        var stored = await _store.GetManyAsync([.. Enumerable.Range(0, 64).Select(i => $"k{i}"), .. Enumerable.Range(0, 16).Select(i => $"lost{i}")], CancellationToken.None);
        Assert.Equal(64, stored.Count);
        Assert.All(stored.Keys, k => Assert.StartsWith("k", k, StringComparison.Ordinal));
        // Queued together, committed together: the leader's own group, then the rest in one or two.
        Assert.InRange(_store.Commits - before, 1, 8);
    }

    [Fact]
    public void A_lone_writer_commits_on_its_own_thread()
    {
        // Committed before the call returns: no hand-off to a writer thread and back (two thread
        // wake-ups, most of a write's cost in a busy sidecar).
        var write = _store.SetAsync(Upsert("alone"), CancellationToken.None);
        Assert.True(write.IsCompletedSuccessfully);
        Assert.Equal(1, _store.Commits);
    }

    [Fact]
    public async Task A_lone_first_write_conflict_fails_alone_and_changes_nothing()
    {
        await _store.SetAsync(Upsert("once"), CancellationToken.None);
        var original = await _store.GetAsync("once", CancellationToken.None);

        await Assert.ThrowsAsync<ETagMismatchException>(() =>
            _store.SetAsync(new StateUpsert("once", "second"u8.ToArray(), null, StateConcurrency.FirstWrite, null), CancellationToken.None));

        var after = await _store.GetAsync("once", CancellationToken.None);
        Assert.Equal(original!.ETag, after!.ETag);
        Assert.Equal("v"u8.ToArray(), after.Value);
    }

    [Fact]
    public async Task A_lone_failed_transaction_is_rolled_back_and_the_next_write_commits()
    {
        await _store.SetAsync(Upsert("taken"), CancellationToken.None);

        // Its first operation is applied before the second fails: the writer's connection must end
        // that transaction (the group commit opens it with a plain BEGIN IMMEDIATE), or the next
        // group's BEGIN fails and the half-applied write could land with a later commit.
        await Assert.ThrowsAsync<ETagMismatchException>(() => _store.ExecuteTransactionAsync(
            [Upsert("half"), new StateUpsert("taken", "x"u8.ToArray(), "not-the-etag", StateConcurrency.LastWrite, null)],
            CancellationToken.None));
        await _store.SetAsync(Upsert("next"), CancellationToken.None);

        // Read on a connection of its own: only what is committed.
        await using var reader = new SqliteConnection($"Data Source={Path.Combine(_dir, "state.db")}");
        reader.Open();
        using var cmd = reader.CreateCommand();
        cmd.CommandText = "SELECT key FROM state ORDER BY key;";
        var keys = new List<string>();
        await using (var rows = await cmd.ExecuteReaderAsync())
        {
            while (await rows.ReadAsync())
            {
                keys.Add(rows.GetString(0));
            }
        }

        Assert.Equal(["next", "taken"], keys);
    }

    private static void Exec(SqliteConnection conn, string sql)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static StateUpsert Upsert(string key) => new(key, "v"u8.ToArray(), null, StateConcurrency.FirstWrite, null);

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
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
