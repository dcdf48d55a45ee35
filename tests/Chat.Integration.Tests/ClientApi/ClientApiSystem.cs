using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Integration.Tests.ClientApi;

/// <summary>One system (embedded components, every app but presence) shared by the hub API tests of a class.</summary>
public class ClientApiSystem : IAsyncLifetime
{
    public static readonly string[] Apps =
        [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Delivery, DaprNames.Apps.Gateway];

    private readonly HubUsers _users;

    public ClientApiSystem()
    {
        _users = new HubUsers(() => System);
    }

    public ChatSystem System { get; private set; } = null!;

    /// <summary>Settings and hooks of the system (none by default).</summary>
    protected virtual ChatHarnessOptions Options => new();

    public async Task InitializeAsync() => System = await ChatHarness.InProcessAsync(Options with { Apps = Apps });

    /// <summary>
    /// A new user, connected with a real SignalR client (closed with the fixture) to the gateway or
    /// to <paramref name="url"/> (e.g. a proxy in front of it).
    /// </summary>
    public Task<HubClient> UserAsync(string? url = null, bool statefulReconnect = false) => _users.NewAsync(url, statefulReconnect);

    public async Task DisposeAsync()
    {
        await _users.DisposeAsync();
        await System.DisposeAsync();
    }

    /// <summary>Asserts that <paramref name="call"/> fails with the hub error code <paramref name="code"/>.</summary>
    public static async Task<HubException> Refused(string code, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<HubException>(call);
        Assert.Contains($"HubException: {code}: ", ex.Message, StringComparison.Ordinal);
        return ex;
    }
}
