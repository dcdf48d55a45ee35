namespace Chat.Integration.Tests.Infrastructure;

/// <summary>New users of a system, each connected to its gateway with a real SignalR client; disposing closes them all.</summary>
public sealed class HubUsers(Func<ChatSystem> system) : IAsyncDisposable
{
    private readonly List<HubClient> _hubs = [];

    /// <summary>A new user, connected to the gateway or to <paramref name="url"/> (closed with this object).</summary>
    public async Task<HubClient> NewAsync(string? url = null, bool statefulReconnect = false)
    {
        var hub = await HubClient.ConnectAsync(url ?? system().GatewayUrl, await system().RegisterAsync(), statefulReconnect: statefulReconnect);
        lock (_hubs)
        {
            _hubs.Add(hub);
        }

        return hub;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var hub in _hubs)
        {
            await hub.DisposeAsync();
        }
    }
}
