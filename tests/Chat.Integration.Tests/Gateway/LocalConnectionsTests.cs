using Chat.Gateway.Hubs;

namespace Chat.Integration.Tests.Gateway;

/// <summary>
/// The gateway's registry of its connections (deliveries and presence read it): a user's
/// connections as one array replaced on change, so "last connection here" stays exact under
/// concurrent connects and disconnects.
/// </summary>
[Trait("Area", "Delivery")]
public sealed class LocalConnectionsTests
{
    [Fact]
    public void Remove_says_when_the_users_last_connection_here_is_gone()
    {
        var connections = new LocalConnections();
        connections.Add(new LocalConnection("c1", "alice", "d1"));
        connections.Add(new LocalConnection("c2", "alice", "d2"));
        connections.Add(new LocalConnection("c3", "bob", "d1"));
        // Added again (a retried connect): replaced, not doubled.
        connections.Add(new LocalConnection("c1", "alice", "d1b"));

        Assert.Equal(["c1", "c2"], connections.Of("alice").Select(c => c.ConnectionId).Order());
        Assert.Equal("d1b", connections.Of("alice").Single(c => c.ConnectionId == "c1").DeviceId);
        Assert.Equal(3, connections.Count);
        Assert.Equal(["alice", "bob"], connections.Users.Order());

        Assert.False(connections.Remove("alice", "c1"));
        Assert.False(connections.Remove("alice", "unknown"));
        Assert.True(connections.Remove("alice", "c2"));
        Assert.Empty(connections.Of("alice"));
        Assert.True(connections.Remove("alice", "c2"));
        Assert.Equal(["bob"], connections.Users);
    }

    [Fact]
    public async Task Concurrent_connects_and_disconnects_lose_nothing_and_report_one_last()
    {
        var connections = new LocalConnections();
        const int users = 50;
        const int perUser = 8;
        await Parallel.ForEachAsync(Enumerable.Range(0, users * perUser), async (i, _) =>
        {
            await Task.Yield();
            connections.Add(new LocalConnection($"c{i}", $"u{i % users}", "d"));
        });
        Assert.Equal(users * perUser, connections.Count);

        var lasts = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, users * perUser), async (i, _) =>
        {
            await Task.Yield();
            if (connections.Remove($"u{i % users}", $"c{i}"))
            {
                Interlocked.Increment(ref lasts);
            }
        });

        Assert.Equal(users, lasts);
        Assert.Equal(0, connections.Count);
        Assert.Empty(connections.Users);
    }
}
