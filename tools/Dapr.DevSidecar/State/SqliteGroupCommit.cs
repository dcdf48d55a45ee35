using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.State;

/// <summary>
/// Group commit for one SQLite database file in this process, as PostgreSQL's commit_delay and
/// Cassandra's grouped commit log do it: writers queue here, and one writer at a time (the leader)
/// takes every request waiting at that moment, applies each inside its own savepoint of one
/// <c>BEGIN IMMEDIATE</c> transaction, and commits once. The leader is the writer that found no
/// other draining the queue: it commits on its own thread, so a lone writer's commit costs no
/// hand-off to another thread and back (two thread wake-ups per write, most of a write's cost in a
/// busy sidecar on few cores). Once its own request is committed, a leader that still finds requests
/// queued hands the rest to a pool thread rather than keep its caller waiting. Concurrent writers thus share one commit
/// and one fsync, while each keeps its own outcome: a request whose ETag check fails is rolled back
/// to its savepoint alone. A lone writer pays what it paid before (one transaction, no savepoint).
/// Nothing waits for company: the batch is whatever queued while the previous commit ran.
/// Writers in other processes still meet SQLite's file lock and busy_timeout.
/// The leader keeps the connection and its compiled statements between commits (see
/// <see cref="SqliteWriter"/>): the leader is the one serial point of every write to the file, and
/// opening a connection and compiling each statement again had been most of its work.
/// In WAL mode the leader's connection does not checkpoint: SQLite's automatic checkpoint runs inside
/// the commit that crosses 1,000 WAL pages, so that commit, every writer of its group and the whole
/// queue behind it waited while pages were copied into the database file and it was fsynced (at
/// 300 msg/s that was a third of the send path's p99). A commit schedules a passive checkpoint on
/// another connection shortly after instead; it copies the bulk of the frames beside later commits.
/// Under steady load some commit always lands while it runs, so it never copies every frame, and
/// SQLite restarts the WAL from its beginning only when every frame has been copied: alone, the WAL
/// grew without bound (6 GB in a 10-minute soak at 300 msg/s, and every page lookup slower as its
/// index grew). So once the WAL holds <see cref="RestartAfterFrames"/>, the leader copies the short
/// tail that landed during the last background checkpoint itself, between two groups, and restarts
/// the WAL (every few seconds at 300 msg/s; a file grown past <see cref="WalSizeLimit"/> is cut back
/// at the next commit). Durability is unchanged: a commit is in the WAL either way.
/// </summary>
internal sealed class SqliteGroupCommit
{
    /// <summary>Upper bound of one group, so one commit never holds the file lock for long.</summary>
    private const int MaxGroup = 256;

    /// <summary>
    /// WAL length, in frames (pages), from which the leader restarts the WAL: 64 MiB at the default
    /// 4 KiB page. Each restart holds the queue for a few milliseconds (it copies the last frames and
    /// syncs the database file), so it is done every few seconds under load, not after every checkpoint.
    /// </summary>
    internal const long RestartAfterFrames = 16_384;

    /// <summary>What a grown WAL file is cut back to when the WAL restarts (SQLite's journal_size_limit), in bytes.</summary>
    internal const long WalSizeLimit = 128L << 20;

    private static readonly ConcurrentDictionary<string, SqliteGroupCommit> ByDatabase = new(StringComparer.Ordinal);

    private readonly Channel<Request> _queue = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<SqliteConnection> _open;
    private readonly TimeSpan? _checkpointAfter;
    private readonly ILogger _log;
    private SqliteWriter? _writer;
    private long _commits;
    private long _checkpoints;
    private int _checkpointPending;
    private int _tailPending;
    private long _walRestarts;

    /// <summary>1 while a leader (or the pool thread it handed over to) drains the queue.</summary>
    private int _draining;

    private SqliteGroupCommit(Func<SqliteConnection> open, TimeSpan? checkpointAfter, ILogger log)
    {
        _open = open;
        _checkpointAfter = checkpointAfter;
        _log = log;
    }

    /// <summary>
    /// The queue of one database, shared by every store that opens it with the same settings.
    /// With <paramref name="checkpointAfter"/> (WAL mode), commits do not checkpoint: a passive
    /// checkpoint runs that long after a commit, on its own connection.
    /// </summary>
    public static SqliteGroupCommit For(string connectionKey, Func<SqliteConnection> open, TimeSpan? checkpointAfter, ILogger log) =>
        ByDatabase.GetOrAdd(connectionKey, _ => new SqliteGroupCommit(open, checkpointAfter, log));

    /// <summary>Transactions committed so far (each one fsync under synchronous FULL).</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Checkpoints run off the commit path so far.</summary>
    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>Times a leader copied what a background checkpoint left and restarted the WAL.</summary>
    public long WalRestarts => Interlocked.Read(ref _walRestarts);

    /// <summary>
    /// Runs <paramref name="apply"/> in a transaction shared with other writers and returns once it
    /// is committed. Exceptions thrown by <paramref name="apply"/> undo only its own writes.
    /// </summary>
    public Task WriteAsync(Func<SqliteWriter, Task> apply, CancellationToken cancellationToken)
    {
        var request = new Request(apply, cancellationToken);
        if (!_queue.Writer.TryWrite(request))
        {
            return Task.FromException(new InvalidOperationException("the SQLite write queue is closed"));
        }

        return Interlocked.CompareExchange(ref _draining, 1, 0) == 0 ? LeadAsync(request) : request.Done.Task;
    }

    private async Task LeadAsync(Request own)
    {
        await DrainAsync(until: own);
        await own.Done.Task;
    }

    /// <summary>
    /// Commits groups while requests are queued (with <paramref name="until"/>, only until that
    /// request is done; what is queued then goes on in a pool thread), then gives up the lead. A
    /// writer that queued after the last read but before the lead was given up found it taken, so
    /// the queue is looked at once more after giving it up.
    /// </summary>
    private async Task DrainAsync(Request? until = null)
    {
        var group = new List<Request>();
        do
        {
            try
            {
                while (true)
                {
                    if (until is { Done.Task.IsCompleted: true } && _queue.Reader.TryPeek(out _))
                    {
                        _ = Task.Run(() => DrainAsync());
                        return;
                    }

                    while (group.Count < MaxGroup && _queue.Reader.TryRead(out var request))
                    {
                        if (request.Cancellation.IsCancellationRequested)
                        {
                            request.Done.TrySetCanceled(request.Cancellation);
                            continue;
                        }

                        group.Add(request);
                    }

                    if (group.Count == 0)
                    {
                        break;
                    }

                    if (Interlocked.Exchange(ref _tailPending, 0) == 1)
                    {
                        await CheckpointTailAsync();
                    }

                    await CommitAsync(group);
                    group.Clear();
                }
            }
            catch (Exception ex)
            {
                // Not expected (CommitAsync answers every failure to its writers), but a lead that
                // was never given up would stop every later write of this file.
                _log.LogError(ex, "state.sqlite: the group commit failed outside a transaction");
                foreach (var request in group)
                {
                    request.Done.TrySetException(ex);
                }

                group.Clear();
            }

            Volatile.Write(ref _draining, 0);
        }
        while (_queue.Reader.TryPeek(out _) && Interlocked.CompareExchange(ref _draining, 1, 0) == 0);
    }

    private async Task CommitAsync(List<Request> group)
    {
        var failures = new Exception?[group.Count];
        try
        {
            var writer = _writer ??= OpenWriter();
            // IMMEDIATE: the write lock is taken before any check. Plain statements rather than a
            // SqliteTransaction, which registers a new rollback hook with SQLite per transaction and
            // leaves the hook's handle to the finalizer: one finalizer run and GC handle per commit
            // (docs/benchmarks.md, twenty-second pass). A failure below rolls back or drops the connection.
            await writer.ExecuteAsync("BEGIN IMMEDIATE;");
            var shared = group.Count > 1;
            for (var i = 0; i < group.Count; i++)
            {
                if (shared)
                {
                    await writer.ExecuteAsync("SAVEPOINT w;");
                }

                try
                {
                    await group[i].Apply(writer);
                    if (shared)
                    {
                        await writer.ExecuteAsync("RELEASE w;");
                    }
                }
                catch (Exception ex) when (shared && ex is ETagMismatchException or SqliteException)
                {
                    await writer.ExecuteAsync("ROLLBACK TO w;");
                    await writer.ExecuteAsync("RELEASE w;");
                    failures[i] = ex;
                }
            }

            await writer.ExecuteAsync("COMMIT;");
            Interlocked.Increment(ref _commits);
            ScheduleCheckpoint();
        }
        catch (Exception ex)
        {
            // Nothing of this group is committed: every writer gets the error (a lone writer its
            // own). After anything but a failed ETag check the connection may be in any state:
            // the next group opens a new one.
            if (ex is not ETagMismatchException || !await TryRollBackAsync())
            {
                _writer?.Dispose();
                _writer = null;
            }

            foreach (var request in group)
            {
                request.Done.TrySetException(ex);
            }

            return;
        }

        for (var i = 0; i < group.Count; i++)
        {
            if (failures[i] is { } failure)
            {
                group[i].Done.TrySetException(failure);
            }
            else
            {
                group[i].Done.TrySetResult();
            }
        }
    }

    /// <summary>Ends the open transaction of the writer's connection without committing; false if that failed too.</summary>
    private async Task<bool> TryRollBackAsync()
    {
        try
        {
            if (_writer is { } writer && SQLitePCL.raw.sqlite3_get_autocommit(writer.Connection.Handle) == 0)
            {
                await writer.ExecuteAsync("ROLLBACK;");
            }

            return _writer is not null;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    private SqliteWriter OpenWriter()
    {
        var writer = new SqliteWriter(_open());
        if (_checkpointAfter is not null)
        {
            using var off = writer.Connection.CreateCommand();
            off.CommandText = $"PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {WalSizeLimit};";
            off.ExecuteNonQuery();
        }

        return writer;
    }

    /// <summary>One pending checkpoint at a time; commits while it waits are covered by it.</summary>
    private void ScheduleCheckpoint()
    {
        if (_checkpointAfter is { } after && Interlocked.Exchange(ref _checkpointPending, 1) == 0)
        {
            _ = CheckpointAsync(after);
        }
    }

    private async Task CheckpointAsync(TimeSpan after)
    {
        await Task.Delay(after).ConfigureAwait(false);
        // Commits from here on schedule the next one, so none is left un-checkpointed.
        Volatile.Write(ref _checkpointPending, 0);
        try
        {
            // PASSIVE: copies what no reader still needs and waits for nobody; the writer goes on meanwhile.
            await using var conn = _open();
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
            var (_, frames, _) = await ReadCheckpointAsync(cmd);
            Interlocked.Increment(ref _checkpoints);
            if (frames >= RestartAfterFrames)
            {
                // Its counts stop at the frames there were when it began, and commits that landed
                // while it ran keep SQLite from restarting the WAL: the next leader copies those and restarts it.
                Volatile.Write(ref _tailPending, 1);
            }
        }
        catch (SqliteException ex)
        {
            // The next commit schedules another; until one succeeds the WAL only grows.
            _log.LogWarning(ex, "state.sqlite: a background WAL checkpoint failed");
        }
    }

    /// <summary>
    /// Copies, on the writer connection and between two groups, the frames a background
    /// checkpoint left (no commit can land meanwhile), then restarts the WAL: RESTART waits, within
    /// busy_timeout, for reads still on WAL frames to end (new reads go to the database file), so
    /// the next commit writes the WAL from its beginning. A PASSIVE one would leave the restart to
    /// that commit, and SQLite skips it there whenever a read is in flight.
    /// </summary>
    private async Task CheckpointTailAsync()
    {
        try
        {
            var writer = _writer ??= OpenWriter();
            await using var cmd = writer.Connection.CreateCommand();
            cmd.CommandText = "PRAGMA wal_checkpoint(RESTART);";
            var (busy, frames, copied) = await ReadCheckpointAsync(cmd);
            if (busy == 0 && copied == frames)
            {
                Interlocked.Increment(ref _walRestarts);
            }
        }
        catch (SqliteException ex)
        {
            // The WAL restarts after a later background checkpoint instead.
            _log.LogWarning(ex, "state.sqlite: a WAL checkpoint between commits failed");
        }
    }

    /// <summary>Runs a wal_checkpoint pragma: (busy, frames in the WAL, frames copied into the database).</summary>
    private static async Task<(long Busy, long Frames, long Copied)> ReadCheckpointAsync(SqliteCommand cmd)
    {
        await using var reader = await cmd.ExecuteReaderAsync();
        return await reader.ReadAsync() ? (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)) : (0, 0, 0);
    }

    private sealed record Request(Func<SqliteWriter, Task> Apply, CancellationToken Cancellation)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
