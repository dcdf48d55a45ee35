using Chat.Integration.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Chat.Integration.Tests.Lifecycle;

/// <summary>Reads the run's messages store (SQLite, embedded set: data/messages.db of components/embedded/messages-store.yaml) directly, to see what is really stored.</summary>
internal static class StoredRows
{
    /// <summary>Rows whose <paramref name="column"/> ("key" or "value") is LIKE <paramref name="pattern"/>.</summary>
    public static long Count(ChatSystem system, string column, string pattern)
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(system.DataPath, "messages.db")};Mode=ReadOnly");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = column switch
        {
            "key" => "SELECT count(*) FROM state WHERE key LIKE $p",
            _ => "SELECT count(*) FROM state WHERE value LIKE $p",
        };
        cmd.Parameters.AddWithValue("$p", pattern);
        return (long)cmd.ExecuteScalar()!;
    }
}
