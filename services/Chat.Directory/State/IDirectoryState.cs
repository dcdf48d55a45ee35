using Grpc.Core;

namespace Chat.Directory.State;

/// <summary>
/// The key-value operations the directory needs from its state store (Dapr's
/// <c>directory-store</c> in the app). Values are JSON objects; an ETag guards each update.
/// </summary>
public interface IDirectoryState
{
    /// <summary>The value and its ETag, or (null, null) when the key does not exist.</summary>
    Task<(T? Value, string? ETag)> GetAsync<T>(string key, CancellationToken cancellationToken) where T : class;

    /// <summary>The values of the keys that exist.</summary>
    Task<IReadOnlyDictionary<string, T>> GetManyAsync<T>(IReadOnlyCollection<string> keys, CancellationToken cancellationToken) where T : class;

    /// <summary>Writes the value only if the key does not exist yet (first write wins).</summary>
    Task<bool> TryInsertAsync<T>(string key, T value, TimeSpan? timeToLive, CancellationToken cancellationToken) where T : class;

    /// <summary>Writes the value only if the stored ETag is still <paramref name="etag"/>.</summary>
    Task<bool> TryUpdateAsync<T>(string key, T value, string etag, CancellationToken cancellationToken) where T : class;

    /// <summary>Writes the value whatever is stored (last write wins).</summary>
    Task SaveAsync<T>(string key, T value, CancellationToken cancellationToken) where T : class;

    /// <summary>Deletes the key only if its ETag is still <paramref name="etag"/>.</summary>
    Task<bool> TryDeleteAsync(string key, string etag, CancellationToken cancellationToken);

    /// <summary>Deletes the key whatever is stored.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);
}

/// <summary>What a mutation decided: the new value to write (null: write nothing) and what to return.</summary>
public readonly record struct Mutation<T, TResult>(T? NewValue, TResult Result) where T : class;

/// <summary>Optimistic read-modify-write on top of <see cref="IDirectoryState"/>.</summary>
public static class DirectoryStateExtensions
{
    /// <summary>Attempts before a contended key gives up (each with a short random back-off).</summary>
    public const int MaxAttempts = 100;

    /// <summary>
    /// Reads <paramref name="key"/>, lets <paramref name="mutate"/> decide, and writes the result
    /// guarded by the ETag read (or as a first write when the key was missing). On a conflict
    /// it reads again and calls <paramref name="mutate"/> again with the fresh value, so the
    /// decision is always taken on what is stored. Exceptions from the mutator propagate.
    /// </summary>
    public static async Task<TResult> MutateAsync<T, TResult>(
        this IDirectoryState state, string key, Func<T?, Mutation<T, TResult>> mutate, CancellationToken cancellationToken) where T : class
    {
        for (var attempt = 1; ; attempt++)
        {
            var (current, etag) = await state.GetAsync<T>(key, cancellationToken);
            var (next, result) = mutate(current);
            if (next is null)
            {
                return result;
            }

            var written = current is null || string.IsNullOrEmpty(etag)
                ? await state.TryInsertAsync(key, next, null, cancellationToken)
                : await state.TryUpdateAsync(key, next, etag, cancellationToken);
            if (written)
            {
                return result;
            }

            if (attempt >= MaxAttempts)
            {
                throw new RpcException(new Status(StatusCode.Aborted, $"'{key}' is changing too fast; try again."));
            }

            // Spread competing writers out so one of them wins the next round.
            await Task.Delay(Random.Shared.Next(1, 5 + Math.Min(attempt, 20) * 2), cancellationToken);
        }
    }
}
