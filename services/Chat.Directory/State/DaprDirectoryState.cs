using Chat.ServiceDefaults;
using System.Globalization;
using System.Text.Json;
using Chat.Domain;
using Dapr;
using Dapr.Client;
using Grpc.Core;

namespace Chat.Directory.State;

/// <summary><see cref="IDirectoryState"/> over the Dapr state API (<see cref="DaprNames.StateStores.Directory"/>) with the official client.</summary>
public sealed class DaprDirectoryState(DaprClient dapr) : IDirectoryState
{
    private const string Store = DaprNames.StateStores.Directory;
    private const int BulkParallelism = 8;

    private static readonly StateOptions FirstWrite = new() { Concurrency = ConcurrencyMode.FirstWrite, Consistency = ConsistencyMode.Strong };
    private static readonly StateOptions LastWrite = new() { Concurrency = ConcurrencyMode.LastWrite, Consistency = ConsistencyMode.Strong };

    public async Task<(T? Value, string? ETag)> GetAsync<T>(string key, CancellationToken cancellationToken) where T : class
    {
        var (value, etag) = await Call(() => dapr.GetStateAndETagAsync<T>(Store, key, ConsistencyMode.Strong, cancellationToken: cancellationToken));
        return value is null ? (null, null) : (value, etag);
    }

    public async Task<IReadOnlyDictionary<string, T>> GetManyAsync<T>(IReadOnlyCollection<string> keys, CancellationToken cancellationToken) where T : class
    {
        var found = new Dictionary<string, T>(StringComparer.Ordinal);
        if (keys.Count == 0)
        {
            return found;
        }

        // The untyped bulk read: a missing key comes back with an empty value, which the typed
        // overload would try to deserialize. Values are written by DaprClient with web JSON defaults.
        var items = await Call(() => dapr.GetBulkStateAsync(Store, keys.Distinct(StringComparer.Ordinal).ToList(), BulkParallelism, cancellationToken: cancellationToken));
        foreach (var item in items)
        {
            if (!string.IsNullOrEmpty(item.Value) && JsonSerializer.Deserialize<T>(item.Value, JsonSerializerOptions.Web) is { } value)
            {
                found[item.Key] = value;
            }
        }

        return found;
    }

    public async Task<bool> TryInsertAsync<T>(string key, T value, TimeSpan? timeToLive, CancellationToken cancellationToken) where T : class
    {
        var metadata = timeToLive is { } ttl
            ? DaprStateMetadata.Ttl(ttl)
            : null;
        try
        {
            await dapr.SaveStateAsync(Store, key, value, FirstWrite, metadata, cancellationToken);
            return true;
        }
        catch (DaprException ex) when (ex.InnerException is RpcException { StatusCode: StatusCode.Aborted })
        {
            return false;
        }
        catch (DaprException ex)
        {
            throw Unavailable(ex);
        }
    }

    public Task<bool> TryUpdateAsync<T>(string key, T value, string etag, CancellationToken cancellationToken) where T : class =>
        Call(() => dapr.TrySaveStateAsync(Store, key, value, etag, FirstWrite, cancellationToken: cancellationToken));

    public Task SaveAsync<T>(string key, T value, CancellationToken cancellationToken) where T : class =>
        Call(async () =>
        {
            await dapr.SaveStateAsync(Store, key, value, LastWrite, cancellationToken: cancellationToken);
            return true;
        });

    public Task<bool> TryDeleteAsync(string key, string etag, CancellationToken cancellationToken) =>
        Call(() => dapr.TryDeleteStateAsync(Store, key, etag, FirstWrite, cancellationToken: cancellationToken));

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        Call(async () =>
        {
            await dapr.DeleteStateAsync(Store, key, LastWrite, cancellationToken: cancellationToken);
            return true;
        });

    private static async Task<TResult> Call<TResult>(Func<Task<TResult>> call)
    {
        try
        {
            return await call();
        }
        catch (DaprException ex)
        {
            throw Unavailable(ex);
        }
    }

    // The caller sees that storage failed, not the sidecar's internals.
    private static RpcException Unavailable(DaprException ex) =>
        new(new Status(StatusCode.Unavailable, $"The directory store is unavailable: {ex.InnerException?.Message ?? ex.Message}"));
}
