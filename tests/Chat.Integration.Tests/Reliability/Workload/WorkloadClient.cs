using System.Net.WebSockets;
using Chat.Gateway;
using Chat.Gateway.Hubs;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Integration.Tests.Reliability.Workload;

/// <summary>
/// One device of one user, as a real app behaves: a SignalR connection to any live gateway,
/// reconnecting (to any live gateway) after a disconnect and then syncing from its cursors;
/// sends retried with the same client_msg_id until acknowledged; messages kept by seq per
/// conversation, deduplicated by msg_id; a sync when a live message shows a gap. Every send,
/// ack, message and receipt goes to the shared <see cref="WorkloadHistory"/>.
/// </summary>
public sealed class WorkloadClient : IAsyncDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(15);

    private readonly Func<IReadOnlyList<string>> _gateways;
    private readonly WorkloadHistory _history;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ConversationView> _views = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _syncGate = new(1, 1);
    private HubConnection? _connection;
    private DroppableWebSocket? _socket;
    private TaskCompletionSource<HubConnection> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _reconnecting = Task.CompletedTask;
    private int _nextGateway;
    private int _gapSyncPending;

    public WorkloadClient(string device, string userId, string accessToken, Func<IReadOnlyList<string>> gateways, WorkloadHistory history)
    {
        Device = device;
        UserId = userId;
        AccessToken = accessToken;
        _gateways = gateways;
        _history = history;
        _nextGateway = Math.Abs(device.GetHashCode(StringComparison.Ordinal));
    }

    public string Device { get; }

    public string UserId { get; }

    public string AccessToken { get; }

    /// <summary>The error of the last failed send (for failure messages).</summary>
    public string? LastError { get; private set; }

    /// <summary>True while the device has an open connection.</summary>
    public bool IsConnected
    {
        get
        {
            lock (_gate)
            {
                return _connection?.State == HubConnectionState.Connected;
            }
        }
    }

    /// <summary>The gateway URL of the current connection.</summary>
    public string? GatewayUrl { get; private set; }

    /// <summary>Connects (trying every live gateway until one takes it) and syncs.</summary>
    public Task ConnectAsync(TimeSpan timeout) => ReconnectAsync(timeout);

    /// <summary>The connection once connected (waits for a reconnect in progress).</summary>
    public Task<HubConnection> ConnectedAsync(CancellationToken ct) => _connected.Task.WaitAsync(ct);

    /// <summary>
    /// Sends one message and returns its ack, or null when this try failed (the caller retries with
    /// the same client_msg_id). <paramref name="conversationId"/> or <paramref name="peerUserId"/>.
    /// </summary>
    public Task<MessageAcceptedDto?> TrySendAsync(string? conversationId, string? peerUserId, string clientMsgId, string text, int attempt, string historyConversation) =>
        TryInvokeAsync(new SendAttempt(Device, UserId, historyConversation, clientMsgId, text, attempt),
            (connection, ct) => connection.InvokeAsync<MessageAcceptedDto>(nameof(ChatHub.SendMessage), new SendMessageArgs(conversationId, peerUserId, clientMsgId, text), ct),
            a => (a.Message, a.Duplicate));

    /// <summary>
    /// Appends an edit ("edit", text), delete ("delete") or reaction ("reaction", emoji) of the message at
    /// <paramref name="targetSeq"/> and returns its ack, or null when this try failed (retried with the same client_msg_id).
    /// </summary>
    public Task<LifecycleAcceptedDto?> TryLifecycleAsync(string kind, string conversationId, ulong targetSeq, string clientMsgId, string text, int attempt) =>
        TryInvokeAsync(new SendAttempt(Device, UserId, conversationId, clientMsgId, text, attempt, kind, targetSeq),
            (connection, ct) => kind switch
            {
                "edit" => connection.InvokeAsync<LifecycleAcceptedDto>(nameof(ChatHub.EditMessage), new EditMessageArgs(conversationId, targetSeq, clientMsgId, text), ct),
                "delete" => connection.InvokeAsync<LifecycleAcceptedDto>(nameof(ChatHub.DeleteMessage), new DeleteMessageArgs(conversationId, targetSeq, clientMsgId), ct),
                _ => connection.InvokeAsync<LifecycleAcceptedDto>(nameof(ChatHub.React), new ReactArgs(conversationId, targetSeq, clientMsgId, text), ct),
            },
            a => (a.Entry, a.Duplicate));

    // One try of a call that appends to a conversation: recorded as an attempt, and (when it answers) as an ack.
    private async Task<T?> TryInvokeAsync<T>(SendAttempt attempt, Func<HubConnection, CancellationToken, Task<T>> call, Func<T, (MessageDto Entry, bool Duplicate)> entryOf)
        where T : class
    {
        _history.Attempts.Enqueue(attempt);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        cts.CancelAfter(CallTimeout);
        try
        {
            var connection = await ConnectedAsync(cts.Token);
            var ack = await call(connection, cts.Token);
            var (entry, duplicate) = entryOf(ack);
            _history.Acks.Enqueue(new AckRecord(Device, UserId, attempt.ClientMsgId, entry, duplicate, FromEvent: false));
            Keep(entry);
            return ack;
        }
        catch (Exception ex) when (ex is HubException or OperationCanceledException or InvalidOperationException or WebSocketException or IOException or TimeoutException)
        {
            LastError = ex.Message;
            _history.Error(ErrorKind(ex));
            return null;
        }
    }

    /// <summary>Syncs from the cursors until the server has nothing more (several rounds when it pages).</summary>
    public async Task SyncAsync(CancellationToken ct)
    {
        await _syncGate.WaitAsync(ct);
        try
        {
            var connection = await ConnectedAsync(ct);
            for (var round = 0; round < 200; round++)
            {
                List<SyncCursorDto> cursors;
                lock (_gate)
                {
                    cursors = _views.Select(v => new SyncCursorDto(v.Key, v.Value.Epoch, v.Value.Contiguous)).ToList();
                }

                var result = await connection.InvokeAsync<SyncResultDto>(nameof(ChatHub.Sync), new SyncArgs(cursors, 0), ct);
                foreach (var delta in result.Deltas)
                {
                    if (delta.Gap is "reset" or "cursor_ahead")
                    {
                        _history.Anomalies.Enqueue($"{Device}: sync of {delta.ConversationId} answered gap '{delta.Gap}' (last seq {delta.LastSeq})");
                    }

                    lock (_gate)
                    {
                        View(delta.ConversationId).Epoch = delta.Epoch;
                    }

                    foreach (var m in delta.Messages)
                    {
                        Received(m, DeliveryPath.Sync);
                    }
                }

                if (!result.HasMore)
                {
                    return;
                }
            }

            _history.Anomalies.Enqueue($"{Device}: sync still had more after 200 rounds");
        }
        finally
        {
            _syncGate.Release();
        }
    }

    /// <summary>Moves this device's delivered cursor in a conversation to what it holds without gaps.</summary>
    public async Task SendDeliveredReceiptAsync(string conversationId, CancellationToken ct)
    {
        ulong upTo;
        lock (_gate)
        {
            upTo = View(conversationId).Contiguous;
        }

        if (upTo == 0)
        {
            return;
        }

        try
        {
            var connection = await ConnectedAsync(ct);
            await connection.InvokeAsync<CursorDto>(nameof(ChatHub.UpdateReceipt), new UpdateReceiptArgs(conversationId, "delivered", upTo), ct);
        }
        catch (Exception ex) when (ex is HubException or OperationCanceledException or InvalidOperationException or WebSocketException or IOException)
        {
            _history.Error("receipt:" + ErrorKind(ex));
        }
    }

    /// <summary>What the device holds of a conversation, by seq.</summary>
    public IReadOnlyDictionary<ulong, MessageDto> Messages(string conversationId)
    {
        lock (_gate)
        {
            return new SortedDictionary<ulong, MessageDto>(View(conversationId).Messages);
        }
    }

    /// <summary>Drops the connection abruptly (WebSocket abort, no close handshake); the client then reconnects.</summary>
    public void DropConnection() => _socket?.Drop();

    /// <summary>Holds back everything the server sends from now on (until the connection drops).</summary>
    public void FreezeIncoming() => _socket?.FreezeReceive();

    private ConversationView View(string conversationId)
    {
        if (!_views.TryGetValue(conversationId, out var view))
        {
            _views[conversationId] = view = new ConversationView();
        }

        return view;
    }

    /// <summary>Keeps the device's own acknowledged message (not a delivery).</summary>
    private void Keep(MessageDto message)
    {
        _history.Touch();
        lock (_gate)
        {
            var view = View(message.ConversationId);
            if (view.Messages.TryGetValue(message.Seq, out var known) && known.MsgId != message.MsgId)
            {
                _history.Anomalies.Enqueue($"{Device}: ack of seq {message.Seq} in {message.ConversationId} is msg {message.MsgId}, but it holds msg {known.MsgId} there");
            }

            view.Messages[message.Seq] = message;
        }
    }

    private void Received(MessageDto message, DeliveryPath path)
    {
        _history.Touch();
        _history.Deliveries.Enqueue(new DeliveryRecord(Device, UserId, message, path));
        bool gap;
        lock (_gate)
        {
            var view = View(message.ConversationId);
            if (view.Messages.TryGetValue(message.Seq, out var known))
            {
                if (known.MsgId != message.MsgId)
                {
                    _history.Anomalies.Enqueue($"{Device}: seq {message.Seq} of {message.ConversationId} arrived as msg {message.MsgId}, but it holds msg {known.MsgId} there");
                }

                _history.DuplicateSuppressed();
                return;
            }

            if (path == DeliveryPath.Live && message.Seq < view.LastLiveSeq)
            {
                _history.LiveOutOfOrder();
            }

            if (path == DeliveryPath.Live)
            {
                view.LastLiveSeq = Math.Max(view.LastLiveSeq, message.Seq);
            }

            view.Messages[message.Seq] = message;
            _history.FirstArrival(path);
            gap = path == DeliveryPath.Live && message.Seq > view.Contiguous + 1;
        }

        if (gap && Interlocked.Exchange(ref _gapSyncPending, 1) == 0)
        {
            // A real client fills a gap it sees by syncing; later messages may still fill it live first.
            _ = Task.Run(async () =>
            {
                try
                {
                    await Task.Delay(300, _stopping.Token);
                    Interlocked.Exchange(ref _gapSyncPending, 0);
                    _history.GapSync();
                    await SyncAsync(_stopping.Token);
                }
                catch (Exception ex) when (ex is HubException or OperationCanceledException or InvalidOperationException or WebSocketException or IOException)
                {
                    Interlocked.Exchange(ref _gapSyncPending, 0);
                    _history.Error("gap-sync:" + ErrorKind(ex));
                }
            });
        }
    }

    private async Task ReconnectAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (!_stopping.IsCancellationRequested)
        {
            var gateways = _gateways();
            if (gateways.Count > 0)
            {
                var url = gateways[(int)((uint)Interlocked.Increment(ref _nextGateway) % (uint)gateways.Count)];
                try
                {
                    var connection = await OpenAsync(url);
                    GatewayUrl = url;
                    lock (_gate)
                    {
                        _connection = connection;
                        _connected.TrySetResult(connection);
                    }

                    await SyncUntilDoneAsync(connection);
                    return;
                }
                catch (Exception ex) when (ex is HttpRequestException or WebSocketException or IOException or InvalidOperationException or HubException or OperationCanceledException or TimeoutException)
                {
                    last = ex;
                    _history.Error("connect:" + ErrorKind(ex));
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Device} could not connect to any gateway within {timeout}: {last}", last);
            }

            await Task.Delay(200, _stopping.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>Syncs after a (re)connect, retrying while backends recover, until it works or this connection closes.</summary>
    private async Task SyncUntilDoneAsync(HubConnection connection)
    {
        while (!_stopping.IsCancellationRequested && connection.State == HubConnectionState.Connected)
        {
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                cts.CancelAfter(CallTimeout);
                await SyncAsync(cts.Token);
                return;
            }
            catch (Exception ex) when (ex is HubException or OperationCanceledException or InvalidOperationException or WebSocketException or IOException)
            {
                _history.Error("sync:" + ErrorKind(ex));
            }

            await Task.Delay(300, _stopping.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task<HubConnection> OpenAsync(string url)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(url.TrimEnd('/') + GatewayServices.HubPath, o =>
            {
                o.SkipNegotiation = true;
                o.Transports = HttpTransportType.WebSockets;
                o.AccessTokenProvider = () => Task.FromResult<string?>(AccessToken);
                o.WebSocketFactory = async (context, ct) =>
                {
                    var ws = new ClientWebSocket();
                    ws.Options.SetRequestHeader("Authorization", "Bearer " + AccessToken);
                    await ws.ConnectAsync(context.Uri, ct);
                    var droppable = new DroppableWebSocket(ws);
                    _socket = droppable;
                    return droppable;
                };
            })
            .Build();
        connection.On<MessageAcceptedDto>(nameof(IChatClient.MessageAccepted), a =>
        {
            _history.Acks.Enqueue(new AckRecord(Device, UserId, a.ClientMsgId, a.Message, a.Duplicate, FromEvent: true));
            Keep(a.Message);
        });
        connection.On<MessageDto>(nameof(IChatClient.MessageReceived), m => Received(m, DeliveryPath.Live));
        connection.On<ReceiptDto>(nameof(IChatClient.ReceiptUpdated), r =>
        {
            _history.Touch();
            _history.Receipts.Enqueue(new ReceiptRecord(Device, r));
        });
        connection.Closed += _ => OnClosedAsync(connection);
        using var cts = new CancellationTokenSource(CallTimeout);
        try
        {
            await connection.StartAsync(cts.Token);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        return connection;
    }

    private Task OnClosedAsync(HubConnection closed)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_connection, closed) || _stopping.IsCancellationRequested)
            {
                return Task.CompletedTask;
            }

            _connection = null;
            _connected = new TaskCompletionSource<HubConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
            _history.Reconnected();
            _reconnecting = Task.Run(async () =>
            {
                await closed.DisposeAsync();
                try
                {
                    await ReconnectAsync(TimeSpan.FromMinutes(2));
                }
                catch (TimeoutException ex)
                {
                    _history.Anomalies.Enqueue(ex.Message);
                }
            });
        }

        return Task.CompletedTask;
    }

    private static string ErrorKind(Exception ex) => ex switch
    {
        HubException hub when hub.Message.LastIndexOf("HubException: ", StringComparison.Ordinal) is var i and >= 0 =>
            hub.Message[(i + "HubException: ".Length)..].Split(':')[0],
        _ => ex.GetType().Name,
    };

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await _reconnecting;
        }
        catch (OperationCanceledException)
        {
        }

        HubConnection? connection;
        lock (_gate)
        {
            connection = _connection;
            _connection = null;
        }

        if (connection is not null)
        {
            await connection.DisposeAsync();
        }

        _stopping.Dispose();
        _syncGate.Dispose();
    }

    private sealed class ConversationView
    {
        public ulong Epoch { get; set; }

        public ulong LastLiveSeq { get; set; }

        public SortedDictionary<ulong, MessageDto> Messages { get; } = [];

        /// <summary>The highest seq held with every seq below it held too.</summary>
        public ulong Contiguous
        {
            get
            {
                ulong n = 0;
                while (Messages.ContainsKey(n + 1))
                {
                    n++;
                }

                return n;
            }
        }
    }
}
