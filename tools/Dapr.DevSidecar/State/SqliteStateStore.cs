using System.Data;
using System.Globalization;
using System.Text;
using Dapr.DevSidecar.Components;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.State;

/// <summary>
/// <c>state.sqlite</c>, with components-contrib's metadata (<c>connectionString</c>, <c>tableName</c>,
/// <c>timeout</c>, <c>busyTimeout</c>, <c>cleanupInterval</c>, <c>disableWAL</c>) and its table layout
/// (key, value, is_binary, etag, expiration_time, update_time), so the same file works with daprd.
/// ETags are random UUIDs: any ETag that differs from the stored one is a mismatch, as in
/// components-contrib (there is no "invalid" SQLite ETag).
/// Several sidecars, in this process or others, may share one file: WAL journaling lets readers
/// run beside a writer, and every write runs in a <c>BEGIN IMMEDIATE</c> transaction so an ETag
/// check and the write that depends on it cannot interleave with another writer. Writers of this
/// process share commits (see <see cref="SqliteGroupCommit"/>).
/// </summary>
public sealed partial class SqliteStateStore : IStateStore
{
    private const string TimeFormat = "yyyy-MM-dd HH:mm:ss.fff";

    /// <summary>How long after a commit its WAL frames are checkpointed (in the background).</summary>
    private static readonly TimeSpan CheckpointAfter = TimeSpan.FromMilliseconds(500);

    private readonly string _connectionString;
    private readonly string _table;
    private readonly int _busyTimeoutMs;
    private readonly string _pragmas;
    // One writer per database file in this process (SQLite allows one anyway): without the queue,
    // concurrent writers each took a connection and slept in SQLite's busy handler.
    private readonly SqliteGroupCommit _writes;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly SqliteConnection? _memoryKeeper;
    private readonly Task _cleanup = Task.CompletedTask;
    private readonly SqliteReaders _readers;
    private readonly SqliteStatements _statements;

    public SqliteStateStore(ComponentDefinition def, TimeProvider time, ILogger log)
    {
        _time = time;
        _log = log;
        var connection = def.Get("connectionString")
            ?? throw new ComponentLoadException(def.SourceFile, "spec.metadata[connectionString]",
                $"component '{def.Name}' (state.sqlite) needs a connectionString: a file path such as data/state.db");
        _table = def.Get("tableName") ?? "state";
        if (!Identifier().IsMatch(_table))
        {
            throw new ComponentLoadException(def.SourceFile, "spec.metadata[tableName]", $"'{_table}' is not a valid SQLite table name");
        }

        var timeout = MetadataDuration.Get(def, "timeout", TimeSpan.FromSeconds(20));
        _busyTimeoutMs = (int)MetadataDuration.Get(def, "busyTimeout", TimeSpan.FromSeconds(2)).TotalMilliseconds;
        var cleanupInterval = MetadataDuration.Get(def, "cleanupInterval", TimeSpan.Zero);

        var builder = new SqliteConnectionStringBuilder
        {
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds)),
            Pooling = true,
        };
        var (path, isMemory) = ParseConnectionString(connection);
        if (isMemory)
        {
            // A private in-memory database lives as long as one connection to it stays open.
            builder.DataSource = $"devsidecar-{Guid.NewGuid():N}";
            builder.Mode = SqliteOpenMode.Memory;
            builder.Cache = SqliteCacheMode.Shared;
        }
        else
        {
            path = Path.GetFullPath(path);
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            }
            catch (IOException ex)
            {
                throw new ComponentLoadException(def.SourceFile, "spec.metadata[connectionString]", $"cannot create the folder for '{path}': {ex.Message}");
            }

            builder.DataSource = path;
            builder.Mode = SqliteOpenMode.ReadWriteCreate;
        }

        _connectionString = builder.ToString();
        var pragmas = ParsePragmas(connection, def.SourceFile);
        _pragmas = string.Concat(pragmas.Select(p => $"PRAGMA {p.Name} = {p.Value};"));
        var wal = !isMemory && !def.GetBool("disableWAL");
        // Checkpoints off the commit path, unless the connection string sets SQLite's own (_pragma=wal_autocheckpoint(N)).
        TimeSpan? checkpointAfter = wal && !pragmas.Any(p => p.Name == "wal_autocheckpoint") ? CheckpointAfter : null;
        _writes = SqliteGroupCommit.For($"{_connectionString}|{_busyTimeoutMs}|{_pragmas}|{checkpointAfter}", Open, checkpointAfter, log);
        _readers = new SqliteReaders(Open, _table);
        _statements = new SqliteStatements(_table);
        try
        {
            if (isMemory)
            {
                _memoryKeeper = new SqliteConnection(_connectionString);
                _memoryKeeper.Open();
            }

            using var conn = Open();
            if (wal)
            {
                Exec(conn, "PRAGMA journal_mode=WAL;");
            }

            Exec(conn, $"""
                CREATE TABLE IF NOT EXISTS {_table} (
                  key TEXT NOT NULL PRIMARY KEY,
                  value TEXT NOT NULL,
                  is_binary BOOLEAN NOT NULL,
                  etag TEXT NOT NULL,
                  expiration_time TIMESTAMP DEFAULT NULL,
                  update_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
                );
                """);
        }
        catch (SqliteException ex)
        {
            throw new ComponentLoadException(def.SourceFile, "spec.metadata[connectionString]", $"cannot open SQLite database '{connection}': {ex.Message}");
        }

        if (cleanupInterval > TimeSpan.Zero)
        {
            _cleanup = CleanupLoopAsync(cleanupInterval, _stop.Token);
        }
    }

    /// <summary>Commits of this store's database file by this process (shared by concurrent writers).</summary>
    internal long Commits => _writes.Commits;

    /// <summary>WAL checkpoints of this store's database file run off the commit path by this process.</summary>
    internal long Checkpoints => _writes.Checkpoints;

    /// <summary>Times the write loop copied a background checkpoint's remainder, so that the WAL restarted.</summary>
    internal long WalRestarts => _writes.WalRestarts;

    public StateStoreFeatures Features => StateStoreFeatures.ETag | StateStoreFeatures.Transactional | StateStoreFeatures.Ttl;

    public async Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var found = await GetManyAsync([key], cancellationToken);
        return found.TryGetValue(key, out var entry) ? entry : null;
    }

    public async Task<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, StateEntry>(StringComparer.Ordinal);
        var lease = _readers.Rent();
        var broken = true;
        try
        {
            if (keys.Count == 1)
            {
                lease.Key.Value = keys.First();
                lease.Now.Value = Now();
                await ReadAsync(lease.One, result, cancellationToken);
            }
            else
            {
                foreach (var chunk in keys.Distinct(StringComparer.Ordinal).Chunk(500))
                {
                    await using var cmd = lease.Connection.CreateCommand();
                    var names = chunk.Select((k, i) =>
                    {
                        cmd.Parameters.AddWithValue($"@k{i}", k);
                        return $"@k{i}";
                    });
                    cmd.CommandText = $"""
                        SELECT key, value, is_binary, etag, expiration_time FROM {_table}
                        WHERE key IN ({string.Join(",", names)}) AND (expiration_time IS NULL OR expiration_time > @now)
                        """;
                    cmd.Parameters.AddWithValue("@now", Now());
                    await ReadAsync(cmd, result, cancellationToken);
                }
            }

            broken = false;
        }
        finally
        {
            _readers.Return(lease, broken);
        }

        return result;
    }

    private static async Task ReadAsync(SqliteCommand cmd, Dictionary<string, StateEntry> into, CancellationToken cancellationToken)
    {
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var text = reader.GetString(1);
            var value = reader.GetBoolean(2) ? Convert.FromBase64String(text) : Encoding.UTF8.GetBytes(text);
            DateTimeOffset? expires = reader.IsDBNull(4) ? null : ParseTime(reader.GetString(4));
            into[reader.GetString(0)] = new StateEntry(value, reader.GetString(3), expires);
        }
    }

    public Task SetAsync(StateUpsert operation, CancellationToken cancellationToken) => ExecuteTransactionAsync([operation], cancellationToken);

    public Task DeleteAsync(StateDelete operation, CancellationToken cancellationToken) => ExecuteTransactionAsync([operation], cancellationToken);

    public Task ExecuteTransactionAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken) =>
        _writes.WriteAsync(writer => ApplyAsync(writer, operations), cancellationToken);

    /// <summary>Runs the operations in the writer's transaction; an ETag mismatch throws (the caller undoes them).</summary>
    private async Task ApplyAsync(SqliteWriter writer, IReadOnlyList<StateOperation> operations)
    {
        // Once queued, a write is not cancelled half-way: it shares its transaction with others.
        var cancellationToken = CancellationToken.None;
        var now = Now();
        foreach (var op in operations)
        {
            var cmd = writer.Command(_statements.For(op));
            cmd.Parameters.AddWithValue("@key", op.Key);
            cmd.Parameters.AddWithValue("@now", now);
            if (op.ETag is not null)
            {
                cmd.Parameters.AddWithValue("@etag", op.ETag);
            }

            switch (op)
            {
                case StateUpsert up:
                    var text = Utf8OrNull(up.Value);
                    cmd.Parameters.AddWithValue("@value", text ?? Convert.ToBase64String(up.Value));
                    cmd.Parameters.AddWithValue("@binary", text is null);
                    cmd.Parameters.AddWithValue("@newEtag", Guid.NewGuid().ToString());
                    cmd.Parameters.AddWithValue("@expires", up.Ttl is { } ttl ? Format(_time.GetUtcNow() + ttl) : DBNull.Value);
                    if (await cmd.ExecuteNonQueryAsync(cancellationToken) == 0)
                    {
                        throw new ETagMismatchException(op.Key);
                    }

                    break;
                case StateDelete del:
                    if (await cmd.ExecuteNonQueryAsync(cancellationToken) == 0 && del.ETag is not null)
                    {
                        throw new ETagMismatchException(op.Key);
                    }

                    break;
            }
        }
    }

    /// <summary>Deletes expired rows now (the cleanup loop calls this every cleanupInterval).</summary>
    public async Task<int> DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        var deleted = 0;
        await _writes.WriteAsync(async writer =>
        {
            var cmd = writer.Command(_statements.DeleteExpired);
            cmd.Parameters.AddWithValue("@now", Now());
            deleted = await cmd.ExecuteNonQueryAsync(CancellationToken.None);
        }, cancellationToken);
        return deleted;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _cleanup;
        }
        catch (OperationCanceledException)
        {
            // Expected when stopping.
        }

        _stop.Dispose();
        _readers.Dispose();
        if (_memoryKeeper is not null)
        {
            await _memoryKeeper.DisposeAsync();
        }
    }

    private async Task CleanupLoopAsync(TimeSpan interval, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(interval, _time);
        while (await timer.WaitForNextTickAsync(stop))
        {
            try
            {
                var n = await DeleteExpiredAsync(stop);
                _log.LogDebug("state.sqlite: deleted {Count} expired rows from {Table}", n, _table);
            }
            catch (SqliteException ex)
            {
                _log.LogWarning(ex, "state.sqlite: cleanup of expired rows in {Table} failed", _table);
            }
        }
    }

    private SqliteConnection Open()
    {
        var conn = new SqliteConnection(_connectionString);
        conn.Open();
        Exec(conn, $"PRAGMA busy_timeout = {_busyTimeoutMs.ToString(CultureInfo.InvariantCulture)};{_pragmas}");
        return conn;
    }

    private static void Exec(SqliteConnection conn, string sql)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private string Now() => Format(_time.GetUtcNow());

    private static string Format(DateTimeOffset t) => t.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    private static DateTimeOffset? ParseTime(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;

    private static string? Utf8OrNull(byte[] value) =>
        System.Text.Unicode.Utf8.IsValid(value) ? Encoding.UTF8.GetString(value) : null;
}
