using Microsoft.Data.Sqlite;

namespace Dapr.DevSidecar.State;

/// <summary>
/// The connection of a <see cref="SqliteGroupCommit"/> loop with its statements compiled once:
/// <see cref="Command"/> hands out the same <see cref="SqliteCommand"/> for the same SQL text, its
/// parameters cleared and bound to the current transaction. The texts are a fixed handful
/// (<see cref="SqliteStatements"/> and the savepoint commands), so every command is kept until disposal.
/// Used by the one loop thread only.
/// </summary>
internal sealed class SqliteWriter(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _statements = new(StringComparer.Ordinal);

    public SqliteConnection Connection { get; } = connection;

    /// <summary>A command for <paramref name="sql"/>, with no parameters yet.</summary>
    public SqliteCommand Command(string sql)
    {
        if (!_statements.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            _statements[sql] = command;
        }

        command.Parameters.Clear();
        return command;
    }

    public Task<int> ExecuteAsync(string sql) => Command(sql).ExecuteNonQueryAsync(CancellationToken.None);

    public void Dispose()
    {
        foreach (var command in _statements.Values)
        {
            command.Dispose();
        }

        Connection.Dispose();
    }
}
