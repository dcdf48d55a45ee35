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

    /// <summary>How often the connection came back as a new connection (after a Reconnecting).</summary>
    public int Reconnects => Volatile.Read(ref _reconnects);

    private int _reconnects;

    /// <summary>
    /// Connects <paramref name="user"/>. With <paramref name="statefulReconnect"/> a dropped socket
    /// is resumed within the gateway's window with nothing lost (the default client keeps the
    /// plain semantics: a drop is a new connection); when the client had to reconnect anew, it
    /// catches up by Sync from the newest seq it holds per conversation, as a real client does.
    /// </summary>
    public static async Task<HubClient> ConnectAsync(string gatewayUrl, TestUser user, bool messagePack = false, bool statefulReconnect = false)
    {
        var builder = new HubConnectionBuilder()
            .WithUrl(gatewayUrl.TrimEnd('/') + Chat.Gateway.GatewayServices.HubPath, o => o.AccessTokenProvider = () => Task.FromResult<string?>(user.AccessToken))
            .WithAutomaticReconnect();
        if (messagePack)
        {
            builder.AddMessagePackProtocol();
        }

        if (statefulReconnect)
        {
            builder.WithStatefulReconnect();
        }

        var client = new HubClient(builder.Build(), user);
        client.Connection.Reconnected += async _ =>
        {
            Interlocked.Increment(ref client._reconnects);
            if (statefulReconnect)
            {
                await client.SyncAsync();
            }
        };
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

    /// <summary>Catches up by Sync from the newest message seq received per conversation, recording what comes back.</summary>
    public async Task SyncAsync()
    {
        for (var round = 0; round < 20; round++)
        {
            var cursors = Received.OfType<MessageDto>().GroupBy(m => m.ConversationId)
                .Select(g => new SyncCursorDto(g.Key, 0, g.Max(m => m.Seq))).ToList();
            var result = await Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs(cursors));
            foreach (var m in result.Deltas.SelectMany(d => d.Messages))
            {
                Record(m);
            }

            if (!result.HasMore)
            {
                return;
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
