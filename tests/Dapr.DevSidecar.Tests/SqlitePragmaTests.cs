using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.State;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dapr.DevSidecar.Tests;

/// <summary>state.sqlite applies the <c>_pragma=name(value)</c> options of a <c>file:</c> connection string, as daprd does.</summary>
[Trait("Area", "DevSidecar")]
public sealed class SqlitePragmaTests : IDisposable
{
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
