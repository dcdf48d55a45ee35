using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Dapr.DevSidecar.State;

/// <summary>
/// Open read connections of one <see cref="SqliteStateStore"/>, kept between reads with the busy
/// timeout and pragmas applied once and the one-key read prepared once: a state read then costs a
/// statement step instead of opening a connection, running the pragmas and compiling the query
/// again (which had been most of a read's cost). Each statement in autocommit mode reads the
/// latest committed state, so a kept connection sees every write.
/// </summary>
internal sealed class SqliteReaders(Func<SqliteConnection> open, string table, int maxIdle = 8) : IDisposable
{
    private readonly ConcurrentBag<Reader> _idle = [];
    private int _idleCount;
    private volatile bool _disposed;

    public Reader Rent()
    {
        if (_idle.TryTake(out var reader))
        {
            Interlocked.Decrement(ref _idleCount);
            return reader;
        }

        return new Reader(open(), table);
    }

    /// <summary>Keeps a reader for the next read; <paramref name="broken"/> (a failed read) closes it instead.</summary>
    public void Return(Reader reader, bool broken)
    {
        if (!broken && !_disposed)
        {
            if (Interlocked.Increment(ref _idleCount) <= maxIdle)
            {
                _idle.Add(reader);
                return;
            }

            // Full: this reader is not kept after all.
            Interlocked.Decrement(ref _idleCount);
        }

        reader.Dispose();
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var reader))
        {
            reader.Dispose();
        }
    }

    internal sealed class Reader : IDisposable
    {
        public Reader(SqliteConnection connection, string table)
        {
            Connection = connection;
            One = connection.CreateCommand();
            One.CommandText = $"""
                SELECT key, value, is_binary, etag, expiration_time FROM {table}
                WHERE key = @k0 AND (expiration_time IS NULL OR expiration_time > @now)
                """;
            Key = One.Parameters.Add("@k0", SqliteType.Text);
            Now = One.Parameters.Add("@now", SqliteType.Text);
        }

        public SqliteConnection Connection { get; }

        /// <summary>The one-key read, prepared on first use and reused.</summary>
        public SqliteCommand One { get; }

        public SqliteParameter Key { get; }

        public SqliteParameter Now { get; }

        public void Dispose()
        {
            One.Dispose();
            Connection.Dispose();
        }
    }
}
