using System.Collections.Concurrent;

namespace Chat.Gateway.Hubs;

/// <summary>One connection on this gateway instance.</summary>
public sealed record LocalConnection(string ConnectionId, string UserId, string DeviceId);

/// <summary>The connections this gateway instance holds, by user (for deliveries and presence reports).</summary>
public sealed class LocalConnections
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, LocalConnection>> _byUser = new(StringComparer.Ordinal);

    public void Add(LocalConnection connection) =>
        _byUser.GetOrAdd(connection.UserId, _ => new(StringComparer.Ordinal))[connection.ConnectionId] = connection;

    /// <summary>Removes a connection; true when it was the user's last one here.</summary>
    public bool Remove(string userId, string connectionId)
    {
        if (!_byUser.TryGetValue(userId, out var connections))
        {
            return true;
        }

        connections.TryRemove(connectionId, out _);
        if (connections.IsEmpty)
        {
            _byUser.TryRemove(new KeyValuePair<string, ConcurrentDictionary<string, LocalConnection>>(userId, connections));
            return true;
        }

        return false;
    }

    public IEnumerable<LocalConnection> Of(string userId) =>
        _byUser.TryGetValue(userId, out var connections) ? connections.Values : [];

    public IReadOnlyCollection<string> Users => [.. _byUser.Keys];

    public int Count => _byUser.Values.Sum(c => c.Count);
}
