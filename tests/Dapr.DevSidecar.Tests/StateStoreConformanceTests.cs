using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapr.Client;
using Dapr.DevSidecar.Tests.Infrastructure;
using Grpc.Core;
using Microsoft.Data.Sqlite;
using StackExchange.Redis;

namespace Dapr.DevSidecar.Tests;

/// <summary>
/// The state API as daprd serves it, driven through the official Dapr.Client (gRPC) and plain
/// HTTP, run once per store type by the derived classes below.
/// </summary>
public abstract class StateStoreConformance
{
    public sealed record Doc(string Name, int Count);

    /// <summary>Unique per test, so tests sharing one redis-server do not meet.</summary>
    protected string Run { get; } = Guid.NewGuid().ToString("N")[..8];

    protected abstract string StoreType { get; }

    /// <summary>components-contrib's SQLite store treats any unknown ETag as a mismatch; the others reject non-numeric ETags.</summary>
    protected virtual bool InvalidETagIsMismatch => false;

    /// <summary>
    /// components-contrib's state.redis ETag rules: an ETag on a missing key is accepted (and
    /// written), and a first-write save without an ETag is refused only on a key that an earlier
    /// first-write save marked (a plain save error, not an ETag mismatch).
    /// </summary>
    protected virtual bool RedisETagRules => false;

    protected virtual IEnumerable<(string Key, string Value)> StoreMetadata(SidecarTestHost host, string name) => [];

    protected SidecarTestHost NewHost(string name = "store", params (string Key, string Value)[] extra)
    {
        var host = new SidecarTestHost();
        host.WithComponent($"{name}.yaml", SidecarTestHost.Component(name, StoreType, [.. StoreMetadata(host, name), .. extra]));
        return host;
    }

    protected string AppId(string app = "app") => $"{app}-{Run}";

    [Fact]
    public async Task Etag_conflict_makes_TrySave_return_false()
    {
        await using var host = NewHost();
        var dapr = host.ClientFor(await host.StartSidecarAsync(AppId()));

        await dapr.SaveStateAsync("store", "k1", new Doc("a", 1));
        var (value, etag) = await dapr.GetStateAndETagAsync<Doc>("store", "k1");
        Assert.Equal(new Doc("a", 1), value);
        Assert.False(string.IsNullOrEmpty(etag));

        Assert.True(await dapr.TrySaveStateAsync("store", "k1", new Doc("a", 2), etag));
        Assert.False(await dapr.TrySaveStateAsync("store", "k1", new Doc("a", 3), etag), "a stale ETag must be refused");
        Assert.Equal(new Doc("a", 2), await dapr.GetStateAsync<Doc>("store", "k1"));
        Assert.False(await dapr.TryDeleteStateAsync("store", "k1", etag), "delete with a stale ETag must be refused");
        var (_, fresh) = await dapr.GetStateAndETagAsync<Doc>("store", "k1");
        Assert.True(await dapr.TryDeleteStateAsync("store", "k1", fresh));
        Assert.Null(await dapr.GetStateAsync<Doc>("store", "k1"));
        if (RedisETagRules)
        {
            Assert.True(await dapr.TrySaveStateAsync("store", "k1", new Doc("a", 4), fresh), "state.redis writes a missing key whatever its ETag");
            Assert.Equal(new Doc("a", 4), await dapr.GetStateAsync<Doc>("store", "k1"));
        }
        else
        {
            Assert.False(await dapr.TrySaveStateAsync("store", "k1", new Doc("a", 4), fresh), "an ETag on a missing key is a mismatch");
        }
    }

    [Fact]
    public async Task Invalid_etag_is_invalid_argument()
    {
        await using var host = NewHost();
        var dapr = host.ClientFor(await host.StartSidecarAsync(AppId()));
        await dapr.SaveStateAsync("store", "k1", new Doc("a", 1));

        if (InvalidETagIsMismatch)
        {
            Assert.False(await dapr.TrySaveStateAsync("store", "k1", new Doc("a", 2), "not-an-etag"));
        }
        else
        {
            var ex = await Assert.ThrowsAsync<DaprException>(() => dapr.TrySaveStateAsync("store", "k1", new Doc("a", 2), "not-an-etag"));
            var rpc = Assert.IsType<RpcException>(ex.InnerException);
            Assert.Equal(StatusCode.InvalidArgument, rpc.StatusCode);
            Assert.Contains("invalid etag", rpc.Status.Detail, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Equal(1, (await dapr.GetStateAsync<Doc>("store", "k1")).Count);
    }

    [Fact]
    public async Task Ttl_expires_values_and_minus_one_keeps_them()
    {
        await using var host = NewHost();
        var dapr = host.ClientFor(await host.StartSidecarAsync(AppId()));

        await dapr.SaveStateAsync("store", "short", new Doc("t", 1), metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "1" });
        await dapr.SaveStateAsync("store", "forever", new Doc("f", 1), metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "-1" });
        Assert.NotNull(await dapr.GetStateAsync<Doc>("store", "short"));

        await Wait.UntilAsync(async () => await dapr.GetStateAsync<Doc>("store", "short") is null, "the value with ttlInSeconds=1 to expire", TimeSpan.FromSeconds(5));

        Assert.NotNull(await dapr.GetStateAsync<Doc>("store", "forever"));
    }

    [Fact]
    public async Task Ttl_expire_time_is_reported_over_http()
    {
        await using var host = NewHost();
        var sidecar = await host.StartSidecarAsync(AppId());
        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };
        var save = await http.PostAsync("/v1.0/state/store", Json("""[{"key":"t","value":{"a":1},"metadata":{"ttlInSeconds":"100"}}]"""));
        Assert.Equal(HttpStatusCode.NoContent, save.StatusCode);
        var got = await http.GetAsync("/v1.0/state/store/t");
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        var expire = DateTimeOffset.Parse(Assert.Single(got.Headers.GetValues("metadata.ttlExpireTime")), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expire - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(95), TimeSpan.FromSeconds(101));
    }

    [Fact]
    public async Task First_write_refuses_a_second_write_without_the_etag()
    {
        await using var host = NewHost();
        var dapr = host.ClientFor(await host.StartSidecarAsync(AppId()));
        var firstWrite = new StateOptions { Concurrency = ConcurrencyMode.FirstWrite };

        await dapr.SaveStateAsync("store", "fw", new Doc("first", 1), firstWrite);
        var ex = await Assert.ThrowsAsync<DaprException>(() => dapr.SaveStateAsync("store", "fw", new Doc("second", 2), firstWrite));
        Assert.Equal(RedisETagRules ? StatusCode.Internal : StatusCode.Aborted, Assert.IsType<RpcException>(ex.InnerException).StatusCode);
        Assert.Equal("first", (await dapr.GetStateAsync<Doc>("store", "fw")).Name);

        var (_, etag) = await dapr.GetStateAndETagAsync<Doc>("store", "fw");
        Assert.True(await dapr.TrySaveStateAsync("store", "fw", new Doc("third", 3), etag, firstWrite));
        Assert.Equal("third", (await dapr.GetStateAsync<Doc>("store", "fw")).Name);
    }

    [Fact]
    public async Task Bulk_get_returns_values_etags_and_missing_keys()
    {
        await using var host = NewHost();
        var dapr = host.ClientFor(await host.StartSidecarAsync(AppId()));
        await dapr.SaveStateAsync("store", "b1", new Doc("one", 1));
        await dapr.SaveStateAsync("store", "b2", new Doc("two", 2));

        var items = await dapr.GetBulkStateAsync<Doc>("store", ["b1", "b2", "nope"], parallelism: 2);
        Assert.Equal(3, items.Count);
        var byKey = items.ToDictionary(i => i.Key);
        Assert.Equal(new Doc("one", 1), byKey["b1"].Value);
        Assert.Equal(new Doc("two", 2), byKey["b2"].Value);
        Assert.False(string.IsNullOrEmpty(byKey["b1"].ETag));
        Assert.Null(byKey["nope"].Value);
        Assert.True(string.IsNullOrEmpty(byKey["nope"].ETag));
    }

    [Fact]
    public async Task Transaction_is_all_or_nothing()
    {
        await using var host = NewHost();
        var dapr = host.ClientFor(await host.StartSidecarAsync(AppId()));
        await dapr.SaveStateAsync("store", "t1", new Doc("t1", 1));
        await dapr.SaveStateAsync("store", "t2", new Doc("t2", 1));
        var (_, etag2) = await dapr.GetStateAndETagAsync<Doc>("store", "t2");
        await dapr.SaveStateAsync("store", "t2", new Doc("t2", 2));

        var failing = new List<StateTransactionRequest>
        {
            new("t1", Bytes(new Doc("t1", 99)), StateOperationType.Upsert),
            new("t3", Bytes(new Doc("t3", 1)), StateOperationType.Upsert),
            new("t2", null, StateOperationType.Delete, etag2),
        };
        var ex = await Assert.ThrowsAsync<DaprException>(() => dapr.ExecuteStateTransactionAsync("store", failing));
        Assert.Equal(StatusCode.Aborted, Assert.IsType<RpcException>(ex.InnerException).StatusCode);
        Assert.Equal(1, (await dapr.GetStateAsync<Doc>("store", "t1")).Count);
        Assert.Null(await dapr.GetStateAsync<Doc>("store", "t3"));
        Assert.NotNull(await dapr.GetStateAsync<Doc>("store", "t2"));

        var (_, current2) = await dapr.GetStateAndETagAsync<Doc>("store", "t2");
        await dapr.ExecuteStateTransactionAsync("store",
        [
            new("t1", Bytes(new Doc("t1", 99)), StateOperationType.Upsert),
            new("t3", Bytes(new Doc("t3", 1)), StateOperationType.Upsert, metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "60" }),
            new("t2", null, StateOperationType.Delete, current2),
        ]);
        Assert.Equal(99, (await dapr.GetStateAsync<Doc>("store", "t1")).Count);
        Assert.Equal(1, (await dapr.GetStateAsync<Doc>("store", "t3")).Count);
        Assert.Null(await dapr.GetStateAsync<Doc>("store", "t2"));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("appid", false)]
    [InlineData("name", true)]
    [InlineData("none", true)]
    [InlineData("custom-prefix", true)]
    public async Task Key_prefix_decides_who_shares_keys(string? keyPrefix, bool shared)
    {
        await using var host = keyPrefix is null ? NewHost() : NewHost("store", ("keyPrefix", keyPrefix));
        var one = host.ClientFor(await host.StartSidecarAsync(AppId("one")));
        var two = host.ClientFor(await host.StartSidecarAsync(AppId("two")));
        var key = $"shared-{Run}";

        await one.SaveStateAsync("store", key, new Doc("from-one", 1));
        Assert.Equal(new Doc("from-one", 1), await one.GetStateAsync<Doc>("store", key));
        var seen = await two.GetStateAsync<Doc>("store", key);
        if (shared)
        {
            Assert.Equal(new Doc("from-one", 1), seen);
        }
        else
        {
            Assert.Null(seen);
        }
    }

    [Fact]
    public async Task Http_state_api_behaves_as_daprd()
    {
        await using var host = NewHost();
        var sidecar = await host.StartSidecarAsync(AppId());
        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };

        var save = await http.PostAsync("/v1.0/state/store", Json("""[{"key":"h1","value":{"name":"x","count":1}},{"key":"h2","value":"text"}]"""));
        Assert.Equal(HttpStatusCode.NoContent, save.StatusCode);

        var got = await http.GetAsync("/v1.0/state/store/h1");
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        Assert.Equal("""{"name":"x","count":1}""", await got.Content.ReadAsStringAsync());
        var etag = Assert.Single(got.Headers.GetValues("ETag"));
        Assert.Equal("\"text\"", await http.GetStringAsync("/v1.0/state/store/h2"));
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/state/store/missing")).StatusCode);

        // The SDK reads what the HTTP API wrote.
        var dapr = host.ClientFor(sidecar);
        Assert.Equal(new Doc("x", 1), await dapr.GetStateAsync<Doc>("store", "h1"));

        var stale = await http.PostAsync("/v1.0/state/store", Json($$"""[{"key":"h1","value":{"name":"y","count":2},"etag":"{{etag}}"}]"""));
        Assert.Equal(HttpStatusCode.NoContent, stale.StatusCode);
        var conflict = await http.PostAsync("/v1.0/state/store", Json($$"""[{"key":"h1","value":{"name":"z","count":3},"etag":"{{etag}}"}]"""));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("ERR_STATE_SAVE", await ErrorCode(conflict));

        var invalid = await http.PostAsync("/v1.0/state/store", Json("""[{"key":"h1","value":1,"etag":"not-an-etag"}]"""));
        Assert.Equal(InvalidETagIsMismatch ? HttpStatusCode.Conflict : HttpStatusCode.BadRequest, invalid.StatusCode);

        // h1 was saved without first-write: state.redis lets a first-write save without an ETag through.
        var firstWrite = await http.PostAsync("/v1.0/state/store", Json("""[{"key":"h1","value":{"name":"y","count":2},"options":{"concurrency":"first-write"}}]"""));
        Assert.Equal(RedisETagRules ? HttpStatusCode.NoContent : HttpStatusCode.Conflict, firstWrite.StatusCode);

        using var badDelete = new HttpRequestMessage(HttpMethod.Delete, "/v1.0/state/store/h1");
        badDelete.Headers.TryAddWithoutValidation("If-Match", etag);
        var deleteConflict = await http.SendAsync(badDelete);
        Assert.Equal(HttpStatusCode.Conflict, deleteConflict.StatusCode);
        Assert.Equal("ERR_STATE_DELETE", await ErrorCode(deleteConflict));

        var bulk = await http.PostAsync("/v1.0/state/store/bulk", Json("""{"keys":["h1","h2","missing"],"parallelism":10}"""));
        Assert.Equal(HttpStatusCode.OK, bulk.StatusCode);
        var items = (await bulk.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToList();
        Assert.Equal(["h1", "h2", "missing"], items.Select(i => i.GetProperty("key").GetString()));
        Assert.Equal("y", items[0].GetProperty("data").GetProperty("name").GetString());
        Assert.True(items[0].TryGetProperty("etag", out _));
        Assert.Equal("text", items[1].GetProperty("data").GetString());
        Assert.False(items[2].TryGetProperty("data", out _));

        var tx = await http.PostAsync("/v1.0/state/store/transaction", Json("""
            {"operations":[
              {"operation":"upsert","request":{"key":"h3","value":"three"}},
              {"operation":"delete","request":{"key":"h2"}}]}
            """));
        Assert.Equal(HttpStatusCode.NoContent, tx.StatusCode);
        Assert.Equal("\"three\"", await http.GetStringAsync("/v1.0/state/store/h3"));
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/state/store/h2")).StatusCode);

        var badOp = await http.PostAsync("/v1.0/state/store/transaction", Json("""{"operations":[{"operation":"merge","request":{"key":"h3"}}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, badOp.StatusCode);
        Assert.Equal("ERR_NOT_SUPPORTED_STATE_OPERATION", await ErrorCode(badOp));

        var current = Assert.Single((await http.GetAsync("/v1.0/state/store/h1")).Headers.GetValues("ETag"));
        using var goodDelete = new HttpRequestMessage(HttpMethod.Delete, "/v1.0/state/store/h1");
        goodDelete.Headers.TryAddWithoutValidation("If-Match", current);
        Assert.Equal(HttpStatusCode.NoContent, (await http.SendAsync(goodDelete)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/state/store/h1")).StatusCode);

        var unknown = await http.GetAsync("/v1.0/state/nope/h1");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("ERR_STATE_STORE_NOT_FOUND", await ErrorCode(unknown));

        var malformed = await http.PostAsync("/v1.0/state/store", Json("{not json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("ERR_MALFORMED_REQUEST", await ErrorCode(malformed));

        var noKey = await http.PostAsync("/v1.0/state/store", Json("""[{"value":1}]"""));
        Assert.Equal(HttpStatusCode.BadRequest, noKey.StatusCode);
    }

    protected static byte[] Bytes<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, new JsonSerializerOptions(JsonSerializerDefaults.Web));

    protected static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    protected static async Task<string?> ErrorCode(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errorCode").GetString();
}

[Trait("Area", "DevSidecar")]
public sealed class InMemoryStateConformanceTests : StateStoreConformance
{
    protected override string StoreType => "state.in-memory";
}

[Trait("Area", "DevSidecar")]
public sealed class SqliteStateConformanceTests : StateStoreConformance
{
    protected override string StoreType => "state.sqlite";

    protected override bool InvalidETagIsMismatch => true;

    protected override IEnumerable<(string Key, string Value)> StoreMetadata(SidecarTestHost host, string name) =>
        [("connectionString", Path.Combine(host.ResourcesPath, "db", $"{name}.db")), ("busyTimeout", "5s")];

    [Fact]
    public async Task Two_runtimes_on_one_file_never_lose_an_etag_checked_update()
    {
        var folder = Directory.CreateTempSubdirectory("devsidecar-sqlite-").FullName;
        var yaml = SidecarTestHost.Component("store", "state.sqlite", ("connectionString", Path.Combine(folder, "shared.db")), ("keyPrefix", "name"), ("busyTimeout", "10s"));
        // Separate hosts have separate component runtimes: two stores, two connection pools, one file.
        await using var hostA = new SidecarTestHost().WithComponent("store.yaml", yaml);
        await using var hostB = new SidecarTestHost().WithComponent("store.yaml", yaml);
        var a = hostA.ClientFor(await hostA.StartSidecarAsync("a"));
        var b = hostB.ClientFor(await hostB.StartSidecarAsync("b"));
        await a.SaveStateAsync("store", "counter", 0);

        static async Task<int> Increment(DaprClient dapr, int times)
        {
            var conflicts = 0;
            for (var i = 0; i < times; i++)
            {
                while (true)
                {
                    var (value, etag) = await dapr.GetStateAndETagAsync<int>("store", "counter");
                    if (await dapr.TrySaveStateAsync("store", "counter", value + 1, etag))
                    {
                        break;
                    }

                    conflicts++;
                }
            }

            return conflicts;
        }

        await Task.WhenAll(Increment(a, 25), Increment(b, 25), Increment(a, 25), Increment(b, 25));
        Assert.Equal(100, await b.GetStateAsync<int>("store", "counter"));
        SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task File_uses_the_components_contrib_table_layout_and_wal()
    {
        await using var host = new SidecarTestHost();
        var db = Path.Combine(host.ResourcesPath, "nested", "folder", "s.db");
        host.WithComponent("s.yaml", SidecarTestHost.Component("s", "state.sqlite", ("connectionString", "file:" + db), ("tableName", "my_state")));
        var dapr = host.ClientFor(await host.StartSidecarAsync("app"));
        await dapr.SaveStateAsync("s", "k", new Doc("v", 1), metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "60" });

        await using var conn = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT key, value, is_binary, etag, expiration_time FROM my_state";
        await using var reader = await cmd.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("app||k", reader.GetString(0));
        Assert.Equal("""{"name":"v","count":1}""", reader.GetString(1));
        Assert.False(reader.GetBoolean(2));
        Assert.True(Guid.TryParse(reader.GetString(3), out _));
        Assert.False(reader.IsDBNull(4));
        await using var mode = conn.CreateCommand();
        mode.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await mode.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Cleanup_interval_deletes_expired_rows()
    {
        await using var host = new SidecarTestHost();
        var db = Path.Combine(host.ResourcesPath, "c.db");
        host.WithComponent("c.yaml", SidecarTestHost.Component("c", "state.sqlite", ("connectionString", db), ("cleanupInterval", "200ms")));
        var dapr = host.ClientFor(await host.StartSidecarAsync("app"));
        await dapr.SaveStateAsync("c", "gone", 1, metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "1" });
        await dapr.SaveStateAsync("c", "kept", 1);

        await using var conn = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT group_concat(key) FROM state";
        await Wait.UntilAsync(async () => (string?)await cmd.ExecuteScalarAsync() == "app||kept", "the expired row to be cleaned up", TimeSpan.FromSeconds(5));
    }
}

[Trait("Area", "DevSidecar")]
[Collection(RedisCollection.Name)]
public sealed class RedisStateConformanceTests(RedisServerFixture redis) : StateStoreConformance
{
    protected override string StoreType => "state.redis";

    protected override bool RedisETagRules => true;

    protected override IEnumerable<(string Key, string Value)> StoreMetadata(SidecarTestHost host, string name) =>
        [("redisHost", redis.Endpoint), ("redisPassword", "")];

    [Theory]
    [InlineData(null, "{app}||k")]
    [InlineData("appid", "{app}||k")]
    [InlineData("name", "store||k")]
    [InlineData("none", "k")]
    [InlineData("custom", "custom||k")]
    public async Task Keys_are_stored_as_components_contrib_does(string? keyPrefix, string expectedKey)
    {
        var db = Random.Shared.Next(1, 15);
        await using var host = keyPrefix is null ? NewHost("store", ("redisDB", $"{db}")) : NewHost("store", ("redisDB", $"{db}"), ("keyPrefix", keyPrefix));
        var dapr = host.ClientFor(await host.StartSidecarAsync(AppId()));
        await using var direct = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var raw = direct.GetDatabase(db);
        var key = expectedKey.Replace("{app}", AppId(), StringComparison.Ordinal);
        await raw.KeyDeleteAsync(key);

        await dapr.SaveStateAsync("store", "k", new Doc("v", 1), metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "100" });
        var hash = (await raw.HashGetAllAsync(key)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        Assert.Equal("""{"name":"v","count":1}""", hash["data"]);
        Assert.Equal("1", hash["version"]);
        Assert.InRange((await raw.KeyTimeToLiveAsync(key))!.Value, TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(100));
        var (_, etag) = await dapr.GetStateAndETagAsync<Doc>("store", "k");
        Assert.Equal("1", etag);
    }

    [Fact]
    [Trait("Area", "Polyglot")]
    public async Task Etags_follow_components_contrib_redis_scripts()
    {
        var db = Random.Shared.Next(1, 15);
        await using var host = NewHost("store", ("redisDB", $"{db}"), ("keyPrefix", "none"));
        var dapr = host.ClientFor(await host.StartSidecarAsync(AppId()));
        await using var direct = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var raw = direct.GetDatabase(db);
        var key = $"et-{Run}";
        var firstWrite = new StateOptions { Concurrency = ConcurrencyMode.FirstWrite };

        // An ETag on a missing key: written, version 1.
        Assert.True(await dapr.TrySaveStateAsync("store", key, new Doc("new", 1), "7"));
        Assert.Equal(("new", "1"), await NameAndETag(key));

        // A first-write save without an ETag on a key never written first-write: written, and marked.
        await dapr.SaveStateAsync("store", key, new Doc("fw", 2), firstWrite);
        Assert.Equal(("fw", "2"), await NameAndETag(key));
        Assert.Equal("0", (string?)await raw.HashGetAsync(key, "first-write"));

        // Marked: a save without the ETag is refused (a save error, not a mismatch), with it accepted.
        var refused = await Assert.ThrowsAsync<DaprException>(() => dapr.SaveStateAsync("store", key, new Doc("plain", 3)));
        Assert.Equal(StatusCode.Internal, Assert.IsType<RpcException>(refused.InnerException).StatusCode);
        Assert.False(await dapr.TrySaveStateAsync("store", key, new Doc("stale", 3), "1"));
        Assert.True(await dapr.TrySaveStateAsync("store", key, new Doc("etag", 3), "2"));
        Assert.Equal(("etag", "3"), await NameAndETag(key));

        // Deletes: a stale ETag is refused; no ETag deletes (mark or not); an ETag on a missing key succeeds.
        Assert.False(await dapr.TryDeleteStateAsync("store", key, "1"));
        await dapr.DeleteStateAsync("store", key);
        Assert.False(await raw.KeyExistsAsync(key));
        Assert.True(await dapr.TryDeleteStateAsync("store", key, "5"));

        // In a transaction a first-write upsert does not mark the key (components-contrib's Multi).
        await dapr.ExecuteStateTransactionAsync("store", [new(key, Bytes(new Doc("tx", 1)), StateOperationType.Upsert, options: firstWrite)]);
        Assert.False(await raw.HashExistsAsync(key, "first-write"));
        await dapr.SaveStateAsync("store", key, new Doc("after", 2));
        Assert.Equal(("after", "2"), await NameAndETag(key));

        async Task<(string?, string)> NameAndETag(string k)
        {
            var (value, etag) = await dapr.GetStateAndETagAsync<Doc>("store", k);
            return (value?.Name, etag);
        }
    }

    [Fact]
    public async Task Component_ttl_in_seconds_is_the_default_ttl()
    {
        await using var host = NewHost("store", ("ttlInSeconds", "1"));
        var dapr = host.ClientFor(await host.StartSidecarAsync(AppId()));
        await dapr.SaveStateAsync("store", "d", 1);
        await dapr.SaveStateAsync("store", "kept", 1, metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "-1" });
        await Wait.UntilAsync(async () => await dapr.GetStateAsync<int?>("store", "d") is null, "the component's default ttlInSeconds=1 to expire the value", TimeSpan.FromSeconds(5));

        Assert.Equal(1, await dapr.GetStateAsync<int?>("store", "kept"));
    }
}
