namespace Dapr.DevSidecar.State;

/// <summary>
/// The write statements of one <c>state.sqlite</c> table, built once when the component loads:
/// a write picks one of these texts, and <see cref="SqliteWriter"/> compiles each text once.
/// </summary>
internal sealed class SqliteStatements(string table)
{
    /// <summary>Replace if the stored ETag matches and the row has not expired.</summary>
    public string UpdateIfETag { get; } = $"""
        UPDATE {table} SET value = @value, is_binary = @binary, etag = @newEtag, expiration_time = @expires, update_time = @now
        WHERE key = @key AND etag = @etag AND (expiration_time IS NULL OR expiration_time > @now)
        """;

    /// <summary>Insert unless a live row exists (an expired row counts as absent).</summary>
    public string InsertFirst { get; } = $"""
        INSERT INTO {table} (key, value, is_binary, etag, expiration_time, update_time)
        VALUES (@key, @value, @binary, @newEtag, @expires, @now)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, is_binary = excluded.is_binary, etag = excluded.etag,
          expiration_time = excluded.expiration_time, update_time = excluded.update_time
        WHERE {table}.expiration_time IS NOT NULL AND {table}.expiration_time <= @now
        """;

    /// <summary>Last write wins.</summary>
    public string Upsert { get; } = $"""
        INSERT OR REPLACE INTO {table} (key, value, is_binary, etag, expiration_time, update_time)
        VALUES (@key, @value, @binary, @newEtag, @expires, @now)
        """;

    public string Delete { get; } = $"DELETE FROM {table} WHERE key = @key";

    public string DeleteIfETag { get; } =
        $"DELETE FROM {table} WHERE key = @key AND etag = @etag AND (expiration_time IS NULL OR expiration_time > @now)";

    public string DeleteExpired { get; } =
        $"DELETE FROM {table} WHERE expiration_time IS NOT NULL AND expiration_time <= @now";

    public string For(StateOperation op) => op switch
    {
        StateUpsert { ETag: not null } => UpdateIfETag,
        StateUpsert { Concurrency: StateConcurrency.FirstWrite } => InsertFirst,
        StateUpsert => Upsert,
        StateDelete { ETag: null } => Delete,
        StateDelete => DeleteIfETag,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };
}
