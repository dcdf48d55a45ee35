using System.Globalization;
using Dapr.DevSidecar.Components;
using StackExchange.Redis;

namespace Dapr.DevSidecar.State;

/// <summary>
/// <c>state.redis</c>, storing values as components-contrib does: one hash per key with the
/// fields <c>data</c> and <c>version</c>, where the version (an integer, bumped on every write)
/// is the ETag and TTLs are Redis expiries. ETags follow components-contrib's scripts
/// (<c>state/redis/redis.go</c>) to the letter:
/// <list type="bullet">
/// <item>a write succeeds when the key is missing (whatever ETag was given), when the ETag
/// equals the version, or when no ETag was given and the key was never written with
/// first-write concurrency; a first-write save without an ETag marks the key (field
/// <c>first-write</c>), so later saves need its ETag. ETags must be integers;</item>
/// <item>a delete succeeds when the key is missing, when the ETag equals the version, or
/// without an ETag;</item>
/// <item>a refused write with an ETag is an ETag mismatch; without one it is a plain save error.</item>
/// </list>
/// Every write, single or transactional, runs as one Lua script that checks all operations
/// first and then applies them, so a transaction is all or nothing (Redis runs a script
/// atomically). components-contrib's MULTI/EXEC pipeline applies the other operations of a
/// transaction when one fails; the dev sidecar applies none.
/// </summary>
public sealed class RedisStateStore : IStateStore, IDefaultTtlStateStore
{
    // KEYS: the keys; ARGV per key: op (set|del), etag (set: the version as an integer, "0" = none;
    // del: as given, "0" = none), mark first-write (1|0), value, ttl seconds (<= 0 = none).
    private const string WriteScript = """
        local n = #KEYS
        for i = 1, n do
          local b = (i - 1) * 5
          local op, etag = ARGV[b + 1], ARGV[b + 2]
          local cur = redis.pcall('HGET', KEYS[i], 'version')
          if cur and type(cur) ~= 'table' and cur ~= '' and cur ~= etag then
            if op == 'set' then
              local fwr = redis.pcall('HGET', KEYS[i], 'first-write')
              if fwr or etag ~= '0' then
                return redis.error_reply('ETAGREFUSED ' .. i)
              end
            elseif etag ~= '0' then
              return redis.error_reply('ETAGREFUSED ' .. i)
            end
          end
        end
        for i = 1, n do
          local b = (i - 1) * 5
          if ARGV[b + 1] == 'set' then
            if type(redis.pcall('HGET', KEYS[i], 'version')) == 'table' then
              redis.call('DEL', KEYS[i])
            end
            redis.call('HSET', KEYS[i], 'data', ARGV[b + 4])
            if ARGV[b + 3] == '1' then
              redis.call('HSET', KEYS[i], 'first-write', 0)
            end
            redis.call('HINCRBY', KEYS[i], 'version', 1)
            local ttl = tonumber(ARGV[b + 5])
            if ttl > 0 then
              redis.call('EXPIRE', KEYS[i], ttl)
            else
              redis.call('PERSIST', KEYS[i])
            end
          else
            redis.call('DEL', KEYS[i])
          end
        end
        return 'OK'
        """;

    // Returns data, version and the remaining TTL in ms for every key, in one round trip.
    private const string ReadScript = """
        local out = {}
        for i = 1, #KEYS do
          local v = redis.call('HMGET', KEYS[i], 'data', 'version')
          out[#out + 1] = v[1]
          out[#out + 1] = v[2]
          out[#out + 1] = redis.call('PTTL', KEYS[i])
        end
        return out
        """;

    private readonly ConnectionMultiplexer _redis;
    private readonly IDatabase _db;
    private readonly TimeProvider _time;

    public RedisStateStore(ComponentDefinition def, TimeProvider time)
    {
        _time = time;
        var host = def.Get("redisHost")
            ?? throw new ComponentLoadException(def.SourceFile, "spec.metadata[redisHost]", $"component '{def.Name}' (state.redis) needs redisHost, e.g. 127.0.0.1:6379");
        var options = new ConfigurationOptions
        {
            Password = def.Get("redisPassword"),
            User = def.Get("redisUsername"),
            Ssl = def.GetBool("enableTLS"),
            AbortOnConnectFail = true,
            ConnectTimeout = 5000,
            ClientName = "dapr-dev-sidecar",
        };
        foreach (var endpoint in host.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            options.EndPoints.Add(endpoint);
        }

        var dbText = def.Get("redisDB") ?? "0";
        if (!int.TryParse(dbText, NumberStyles.None, CultureInfo.InvariantCulture, out var db))
        {
            throw new ComponentLoadException(def.SourceFile, "spec.metadata[redisDB]", $"'{dbText}' is not a database number");
        }

        if (def.Get("ttlInSeconds") is { } ttlText)
        {
            if (!int.TryParse(ttlText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ttl) || ttl < -1)
            {
                throw new ComponentLoadException(def.SourceFile, "spec.metadata[ttlInSeconds]", $"'{ttlText}' is not a number of seconds (-1 for no expiry)");
            }

            DefaultTtl = ttl > 0 ? TimeSpan.FromSeconds(ttl) : null;
        }

        try
        {
            _redis = ConnectionMultiplexer.Connect(options);
        }
        catch (RedisException ex)
        {
            throw new ComponentLoadException(def.SourceFile, "spec.metadata[redisHost]", $"cannot connect to Redis at {host}: {ex.Message}");
        }

        _db = _redis.GetDatabase(db);
    }

    public StateStoreFeatures Features => StateStoreFeatures.ETag | StateStoreFeatures.Transactional | StateStoreFeatures.Ttl;

    public TimeSpan? DefaultTtl { get; }

    public async Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var found = await GetManyAsync([key], cancellationToken);
        return found.TryGetValue(key, out var entry) ? entry : null;
    }

    public async Task<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, StateEntry>(StringComparer.Ordinal);
        var list = keys.Distinct(StringComparer.Ordinal).ToArray();
        if (list.Length == 0)
        {
            return result;
        }

        var reply = (RedisResult[])(await _db.ScriptEvaluateAsync(ReadScript, list.Select(k => (RedisKey)k).ToArray()))!;
        var now = _time.GetUtcNow();
        for (var i = 0; i < list.Length; i++)
        {
            var data = reply[i * 3];
            var version = reply[i * 3 + 1];
            if (data.IsNull || version.IsNull)
            {
                continue;
            }

            var pttl = (long)reply[i * 3 + 2];
            result[list[i]] = new StateEntry((byte[])data!, (string)version!, pttl > 0 ? now + TimeSpan.FromMilliseconds(pttl) : null);
        }

        return result;
    }

    public Task SetAsync(StateUpsert operation, CancellationToken cancellationToken) => WriteAsync([operation], single: true);

    public Task DeleteAsync(StateDelete operation, CancellationToken cancellationToken) => WriteAsync([operation], single: true);

    public Task ExecuteTransactionAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken) =>
        WriteAsync(operations, single: false);

    /// <summary>Runs the write script; only a single first-write save marks its key (components-contrib's Set, not Multi).</summary>
    private async Task WriteAsync(IReadOnlyList<StateOperation> operations, bool single)
    {
        if (operations.Count == 0)
        {
            return;
        }

        var keys = new RedisKey[operations.Count];
        var args = new RedisValue[operations.Count * 5];
        for (var i = 0; i < operations.Count; i++)
        {
            var op = operations[i];
            keys[i] = op.Key;
            args[i * 5] = op is StateUpsert ? "set" : "del";
            args[i * 5 + 1] = op is StateUpsert ? SaveVersion(op) : op.ETag ?? "0";
            args[i * 5 + 2] = single && op is StateUpsert && op.Concurrency == StateConcurrency.FirstWrite ? "1" : "0";
            args[i * 5 + 3] = op is StateUpsert up ? up.Value : RedisValue.EmptyString;
            args[i * 5 + 4] = op is StateUpsert { Ttl: { } ttl } ? (long)Math.Ceiling(ttl.TotalSeconds) : 0;
        }

        try
        {
            await _db.ScriptEvaluateAsync(WriteScript, keys, args);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("ETAGREFUSED ", StringComparison.Ordinal))
        {
            var op = operations[int.Parse(ex.Message.AsSpan("ETAGREFUSED ".Length), CultureInfo.InvariantCulture) - 1];
            if (op.ETag is not null)
            {
                throw new ETagMismatchException(op.Key);
            }

            throw new InvalidOperationException($"failed to set key {op.Key}");
        }
    }

    /// <summary>A save's ETag as components-contrib reads it: an integer (Go's Atoi), "0" when none.</summary>
    private static string SaveVersion(StateOperation op)
    {
        if (op.ETag is null)
        {
            return "0";
        }

        return long.TryParse(op.ETag, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var version)
            ? version.ToString(CultureInfo.InvariantCulture)
            : throw new InvalidETagException(op.Key, op.ETag);
    }

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();
}
