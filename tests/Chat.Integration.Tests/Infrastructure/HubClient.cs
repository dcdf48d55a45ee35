using System.Collections.Concurrent;
using System.Threading.Channels;
using Chat.Gateway.Hubs;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>
/// A real SignalR .NET client connected to a gateway, recording every server event so tests
/// can wait for what they expect.
/// </summary>
public sealed class HubClient : IAsyncDisposable
{
    private readonly Channel<object> _events = Channel.CreateUnbounded<object>();

    private HubClient(HubConnection connection, TestUser user)
    {
        Connection = connection;
        User = user;
        connection.On<MessageAcceptedDto>(nameof(IChatClient.MessageAccepted), e => Record(e));
        connection.On<MessageDto>(nameof(IChatClient.MessageReceived), e => Record(e));
        connection.On<ReceiptDto>(nameof(IChatClient.ReceiptUpdated), e => Record(e));
        connection.On<PresenceDto>(nameof(IChatClient.PresenceChanged), e => Record(e));
        connection.On<TypingDto>(nameof(IChatClient.TypingChanged), e => Record(e));
        connection.On<GroupChangedDto>(nameof(IChatClient.GroupChanged), e => Record(e));
    }

    public HubConnection Connection { get; }

    public TestUser User { get; }

    /// <summary>Every event received so far, in order.</summary>
    public ConcurrentQueue<object> Received { get; } = new();

    public static async Task<HubClient> ConnectAsync(string gatewayUrl, TestUser user, bool messagePack = false)
    {
        var builder = new HubConnectionBuilder()
            .WithUrl(gatewayUrl.TrimEnd('/') + Chat.Gateway.GatewayServices.HubPath, o => o.AccessTokenProvider = () => Task.FromResult<string?>(user.AccessToken))
            .WithAutomaticReconnect();
        if (messagePack)
        {
            builder.AddMessagePackProtocol();
        }

        var client = new HubClient(builder.Build(), user);
        await client.Connection.StartAsync();
        // Returns once the server's OnConnectedAsync (route registration) has completed.
        await client.Connection.InvokeAsync<DateTimeOffset>("Ping");
        return client;
    }

    /// <summary>Waits until an event of type <typeparamref name="T"/> matching <paramref name="match"/> arrives (or was already received).</summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool> match, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        while (true)
        {
            foreach (var e in Received)
            {
                if (seen.Add(e) && e is T t && match(t))
                {
                    return t;
                }
            }

            try
            {
                await _events.Reader.WaitToReadAsync(cts.Token);
                while (_events.Reader.TryRead(out _))
                {
                }
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{User.UserName} did not receive the expected {typeof(T).Name}; received: {string.Join(", ", Received)}");
            }
        }
    }

    private void Record(object e)
    {
        Received.Enqueue(e);
        _events.Writer.TryWrite(e);
    }

    public async ValueTask DisposeAsync() => await Connection.DisposeAsync();
}
