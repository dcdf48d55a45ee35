using System.Collections.Concurrent;

namespace Chat.Gateway.Hubs;

/// <summary>One connection on this gateway instance.</summary>
public sealed record LocalConnection(string ConnectionId, string UserId, string DeviceId);

/// <summary>The connections this gateway instance holds, by user (for deliveries and presence reports).</summary>
public sealed class LocalConnections
{
    // A user's connections as an array replaced on change (compare-and-swap): most users have one
    // connection here, and a dictionary per user cost ~600 bytes of every idle connection.
    private readonly ConcurrentDictionary<string, LocalConnection[]> _byUser = new(StringComparer.Ordinal);

    public void Add(LocalConnection connection) =>
        _byUser.AddOrUpdate(connection.UserId, static (_, c) => [c],
            static (_, current, c) => [.. current.Where(x => x.ConnectionId != c.ConnectionId), c], connection);

    /// <summary>Removes a connection; true when it was the user's last one here.</summary>
    public bool Remove(string userId, string connectionId)
    {
        while (true)
        {
            if (!_byUser.TryGetValue(userId, out var current))
            {
                return true;
            }

            var rest = current.Where(c => c.ConnectionId != connectionId).ToArray();
            if (rest.Length == 0)
            {
                if (_byUser.TryRemove(new KeyValuePair<string, LocalConnection[]>(userId, current)))
                {
                    return true;
                }
            }
            else if (rest.Length == current.Length || _byUser.TryUpdate(userId, rest, current))
            {
                return false;
            }
        }
    }

    public IEnumerable<LocalConnection> Of(string userId) =>
        _byUser.TryGetValue(userId, out var connections) ? connections : [];

    public IReadOnlyCollection<string> Users => [.. _byUser.Keys];

    public int Count => _byUser.Values.Sum(c => c.Length);
}
