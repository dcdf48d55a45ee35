using System.Globalization;
using Dapr.DevSidecar.Api;
using Dapr.DevSidecar.Hosting;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.State;

/// <summary>
/// The state building block as daprd runs it, independent of transport: store lookup, key
/// prefixing (<c>keyPrefix</c>), <c>ttlInSeconds</c>, feature checks and error mapping.
/// The gRPC and HTTP APIs both call this.
/// </summary>
public sealed class StateApi(SidecarContext sidecar)
{
    private const string KeySeparator = "||";

    /// <summary>A state request item, already decoded from its transport.</summary>
    public sealed record Item(string Key, byte[] Value, string? ETag, StateConcurrency Concurrency, IReadOnlyDictionary<string, string> Metadata);

    public sealed record Got(string Key, StateEntry? Entry);

    public async Task<StateEntry?> GetAsync(string storeName, string key, CancellationToken ct)
    {
        var (store, prefix) = Resolve(storeName);
        return await Run("ERR_STATE_GET", $"fail to get {key} from state store {storeName}", () => store.GetAsync(Prefixed(prefix, key), ct));
    }

    public async Task<IReadOnlyList<Got>> GetBulkAsync(string storeName, IReadOnlyList<string> keys, CancellationToken ct)
    {
        var (store, prefix) = Resolve(storeName);
        var prefixed = keys.Select(k => Prefixed(prefix, k)).ToList();
        var found = await Run("ERR_STATE_BULK_GET", $"failed getting state in bulk from {storeName}", () => store.GetManyAsync(prefixed, ct));
        return keys.Select((k, i) => new Got(k, found.TryGetValue(prefixed[i], out var e) ? e : null)).ToList();
    }

    public async Task SaveAsync(string storeName, IReadOnlyList<Item> items, CancellationToken ct)
    {
        var (store, prefix) = Resolve(storeName);
        foreach (var item in items)
        {
            var op = ToUpsert(store, prefix, item);
            await Run("ERR_STATE_SAVE", $"failed saving state in state store {storeName}", () => store.SetAsync(op, ct));
        }
    }

    public async Task DeleteAsync(string storeName, string key, string? etag, StateConcurrency concurrency, CancellationToken ct)
    {
        var (store, prefix) = Resolve(storeName);
        CheckETagSupport(store, storeName, etag);
        await Run("ERR_STATE_DELETE", $"failed deleting state with key {key}", () => store.DeleteAsync(new StateDelete(Prefixed(prefix, key), NullIfEmpty(etag), concurrency), ct));
    }

    public async Task TransactAsync(string storeName, IReadOnlyList<(string Operation, Item Item)> operations, CancellationToken ct)
    {
        var (store, prefix) = Resolve(storeName);
        if (!store.Features.HasFlag(StateStoreFeatures.Transactional))
        {
            throw new DaprApiException("ERR_STATE_STORE_NOT_SUPPORTED", $"state store {storeName} doesn't support transaction",
                StatusCode.Unimplemented, StatusCodes.Status500InternalServerError);
        }

        var ops = new List<StateOperation>(operations.Count);
        foreach (var (operation, item) in operations)
        {
            ops.Add(operation switch
            {
                "upsert" => ToUpsert(store, prefix, item),
                "delete" => new StateDelete(Prefixed(prefix, item.Key), NullIfEmpty(item.ETag), item.Concurrency),
                _ => throw DaprApiException.InvalidArgument("ERR_NOT_SUPPORTED_STATE_OPERATION", $"operation type {operation} not supported"),
            });
        }

        await Run("ERR_STATE_TRANSACTION", "error while executing state transaction", () => store.ExecuteTransactionAsync(ops, ct));
    }

    /// <summary>The <c>ttlExpireTime</c> response metadata daprd adds for values with a TTL.</summary>
    public static Dictionary<string, string> ResponseMetadata(StateEntry entry) =>
        entry.ExpiresAt is { } at
            ? new() { ["ttlExpireTime"] = at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) }
            : [];

    private StateUpsert ToUpsert(IStateStore store, string prefix, Item item)
    {
        CheckETagSupport(store, "this state store", item.ETag);
        TimeSpan? ttl = (store as IDefaultTtlStateStore)?.DefaultTtl;
        if (item.Metadata.TryGetValue("ttlInSeconds", out var ttlText))
        {
            if (!long.TryParse(ttlText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds) || seconds < -1)
            {
                throw DaprApiException.InvalidArgument("ERR_STATE_SAVE", $"failed saving state: incorrect value for metadata 'ttlInSeconds': '{ttlText}' (an integer, -1 for no expiry)");
            }

            if (seconds >= 0 && !store.Features.HasFlag(StateStoreFeatures.Ttl))
            {
                throw DaprApiException.InvalidArgument("ERR_STATE_SAVE", "failed saving state: the state store does not support ttlInSeconds");
            }

            ttl = seconds == -1 ? null : TimeSpan.FromSeconds(seconds);
        }

        return new StateUpsert(Prefixed(prefix, item.Key), item.Value, NullIfEmpty(item.ETag), item.Concurrency, ttl);
    }

    private static void CheckETagSupport(IStateStore store, string storeName, string? etag)
    {
        if (!string.IsNullOrEmpty(etag) && !store.Features.HasFlag(StateStoreFeatures.ETag))
        {
            throw DaprApiException.InvalidArgument("ERR_STATE_SAVE", $"state store {storeName} doesn't support ETags");
        }
    }

    private (IStateStore Store, string Prefix) Resolve(string storeName)
    {
        var stores = sidecar.Components.OfType<IStateStore>().ToList();
        if (stores.Count == 0)
        {
            throw new DaprApiException("ERR_STATE_STORE_NOT_CONFIGURED", "state store is not configured",
                StatusCode.FailedPrecondition, StatusCodes.Status500InternalServerError);
        }

        var component = stores.FirstOrDefault(s => s.Definition.Name == storeName)
            ?? throw DaprApiException.InvalidArgument("ERR_STATE_STORE_NOT_FOUND", $"state store {storeName} is not found");
        var keyPrefix = component.Definition.Get("keyPrefix") ?? "appid";
        var prefix = keyPrefix.ToLowerInvariant() switch
        {
            "appid" => sidecar.AppId,
            "name" => storeName,
            "none" => "",
            _ => keyPrefix,
        };
        if (prefix.Contains(KeySeparator, StringComparison.Ordinal))
        {
            throw DaprApiException.InvalidArgument("ERR_MALFORMED_REQUEST", $"keyPrefix '{prefix}' can't contain '{KeySeparator}'");
        }

        return ((IStateStore)component.Implementation, prefix);
    }

    private static string Prefixed(string prefix, string key)
    {
        if (string.IsNullOrEmpty(key))
        {
            throw DaprApiException.InvalidArgument("ERR_MALFORMED_REQUEST", "state key must not be empty");
        }

        if (key.Contains(KeySeparator, StringComparison.Ordinal))
        {
            throw DaprApiException.InvalidArgument("ERR_MALFORMED_REQUEST", $"input key '{key}' can't contain '{KeySeparator}'");
        }

        return prefix.Length == 0 ? key : prefix + KeySeparator + key;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static async Task<T> Run<T>(string code, string what, Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception ex) when (ex is not DaprApiException)
        {
            throw Map(code, what, ex);
        }
    }

    private static async Task Run(string code, string what, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex) when (ex is not DaprApiException)
        {
            throw Map(code, what, ex);
        }
    }

    private static DaprApiException Map(string code, string what, Exception ex) => ex switch
    {
        ETagMismatchException => new(code, $"{what}: {ex.Message}", StatusCode.Aborted, StatusCodes.Status409Conflict),
        InvalidETagException => new(code, $"{what}: {ex.Message}", StatusCode.InvalidArgument, StatusCodes.Status400BadRequest),
        _ => new(code, $"{what}: {ex.Message}", StatusCode.Internal, StatusCodes.Status500InternalServerError),
    };
}
