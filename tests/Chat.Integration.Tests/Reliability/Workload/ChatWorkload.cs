using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;

namespace Chat.Integration.Tests.Reliability.Workload;

/// <summary>How much the workload sends.</summary>
public sealed record WorkloadOptions
{
    /// <summary>Pause between two sends of one device.</summary>
    public TimeSpan SendInterval { get; init; } = TimeSpan.FromMilliseconds(350);

    /// <summary>New messages per device at most (retries not counted).</summary>
    public int MaxMessagesPerDevice { get; init; } = 40;

    /// <summary>How long unacknowledged sends keep being retried after sending stops.</summary>
    public TimeSpan RetryDeadline { get; init; } = TimeSpan.FromSeconds(90);
}

/// <summary>A conversation of the workload and its members.</summary>
public sealed record WorkloadConversation(string Id, string Name, IReadOnlyList<TestUser> Members);

/// <summary>
/// Six users (the first with two devices) in three 1:1 conversations and one group of four.
/// Every device sends at a steady rate to its conversations in turn, each message with a unique
/// client_msg_id, and retries a send that got no ack with the same client_msg_id. Then sending
/// stops, retries finish, the system goes quiet and every device syncs one last time; the
/// <see cref="HistoryChecker"/> judges the recorded history against what the server stored.
/// </summary>
public sealed class ChatWorkload : IAsyncDisposable
{
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stopNew = new();
    private readonly CancellationTokenSource _hardStop = new();
    private readonly WorkloadOptions _options;

    private ChatWorkload(IChatBackends backends, WorkloadOptions options)
    {
        Backends = backends;
        _options = options;
    }

    public IChatBackends Backends { get; }

    public WorkloadHistory History { get; } = new();

    public List<TestUser> Users { get; } = [];

    public List<WorkloadClient> Devices { get; } = [];

    public List<WorkloadConversation> Conversations { get; } = [];

    /// <summary>Sends of each device that never got an ack (after the retry deadline).</summary>
    public int Unacknowledged { get; private set; }

    /// <summary>Registers the users, creates the group, connects every device (to gateways in turn).</summary>
    public static async Task<ChatWorkload> CreateAsync(IChatBackends backends, Func<IReadOnlyList<string>> gateways, WorkloadOptions? options = null)
    {
        var workload = new ChatWorkload(backends, options ?? new WorkloadOptions());
        var users = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => backends.RegisterAsync($"rel{i}x{Guid.NewGuid().ToString("N")[..10]}")));
        workload.Users.AddRange(users);
        var secondDevice = await backends.LoginAsync(users[0], "tablet");
        var group = await users[0].CreateGroupAsync("reliability", users[2], users[4], users[5]);
        workload.Conversations.AddRange(
        [
            new(ConversationId.Direct(users[0].UserId, users[1].UserId).Value, "dm01", [users[0], users[1]]),
            new(ConversationId.Direct(users[2].UserId, users[3].UserId).Value, "dm23", [users[2], users[3]]),
            new(ConversationId.Direct(users[4].UserId, users[5].UserId).Value, "dm45", [users[4], users[5]]),
            new(group, "group0245", [users[0], users[2], users[4], users[5]]),
        ]);
        for (var i = 0; i < users.Length; i++)
        {
            workload.Devices.Add(new WorkloadClient($"u{i}-phone", users[i].UserId, users[i].AccessToken, gateways, workload.History));
        }

        workload.Devices.Add(new WorkloadClient("u0-tablet", users[0].UserId, secondDevice, gateways, workload.History));
        await Task.WhenAll(workload.Devices.Select(d => d.ConnectAsync(TimeSpan.FromSeconds(60))));
        return workload;
    }

    /// <summary>Starts every device's send loop.</summary>
    public void Start()
    {
        foreach (var device in Devices)
        {
            _loops.Add(Task.Run(() => SendLoopAsync(device)));
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> messages were acknowledged (the workload is running).</summary>
    public Task WaitForAcksAsync(int count, TimeSpan timeout) =>
        Wait.UntilAsync(() => History.Acks.Select(a => (a.SenderId, a.ClientMsgId)).Distinct().Count() >= count, $"{count} acknowledged messages", timeout);

    /// <summary>
    /// Stops new sends, lets unacknowledged ones be retried (until acked or the retry deadline),
    /// waits for a quiet period, and has every device sync once more.
    /// </summary>
    public async Task StopAndSettleAsync()
    {
        await _stopNew.CancelAsync();
        var all = Task.WhenAll(_loops);
        if (await Task.WhenAny(all, Task.Delay(_options.RetryDeadline)) != all)
        {
            await _hardStop.CancelAsync();
        }

        await all;

        // Quiet period: live delivery gets the chance to bring every acknowledged message to every
        // device (up to a deadline); whatever it did not bring, the final sync must.
        var quietDeadline = DateTime.UtcNow.AddSeconds(20);
        while (!AllAcknowledgedHeld() && DateTime.UtcNow < quietDeadline)
        {
            await Task.Delay(200);
        }

        await Task.WhenAll(Devices.Select(FinalSyncAsync));
    }

    /// <summary>True when every device of every member holds every acknowledged message of its conversations.</summary>
    public bool AllAcknowledgedHeld()
    {
        var acked = History.Acks.Select(a => a.Message).DistinctBy(m => m.MsgId).ToList();
        foreach (var conversation in Conversations)
        {
            var seqs = acked.Where(m => m.ConversationId == conversation.Id).Select(m => m.Seq).ToList();
            foreach (var device in Devices.Where(d => conversation.Members.Any(m => m.UserId == d.UserId)))
            {
                var held = device.Messages(conversation.Id);
                if (seqs.Any(s => !held.ContainsKey(s)))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static async Task FinalSyncAsync(WorkloadClient device)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                await device.SyncAsync(cts.Token);
                return;
            }
            catch (Exception ex) when (ex is Microsoft.AspNetCore.SignalR.HubException or OperationCanceledException or InvalidOperationException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(300);
            }
        }
    }

    /// <summary>Checks the recorded history against every conversation's stored history.</summary>
    public async Task<CheckResult> CheckAsync()
    {
        var stored = new Dictionary<string, IReadOnlyList<MessageDto>>(StringComparer.Ordinal);
        foreach (var conversation in Conversations)
        {
            stored[conversation.Id] = await ReadHistoryAsync(conversation.Members[0], conversation.Id);
        }

        return HistoryChecker.Check(this, stored);
    }

    /// <summary>Every stored message of a conversation, paging back from the newest, in seq order.</summary>
    public static async Task<IReadOnlyList<MessageDto>> ReadHistoryAsync(TestUser reader, string conversationId)
    {
        var all = new List<MessageDto>();
        ulong before = 0;
        while (true)
        {
            var page = await reader.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = conversationId, BeforeSeq = before, Limit = ChatLimits.MaxHistoryPage });
            all.AddRange(page.Messages.Select(m => m.ToDto()));
            if (!page.HasMore || page.Messages.Count == 0)
            {
                return all.OrderBy(m => m.Seq).ToList();
            }

            before = page.Messages.Min(m => m.Seq);
        }
    }

    // One send of the loop: a message, or an edit, delete or reaction of the device's own message at TargetSeq.
    private sealed record PendingSend(WorkloadConversation Conversation, string ClientMsgId, string Text, int Attempts, string Kind = "message", ulong TargetSeq = 0);

    /// <summary>
    /// Every third new send is an edit, delete or reaction (in turn) of the device's newest own
    /// message in that conversation that it has not deleted, so each is allowed and none is refused.
    /// </summary>
    private static PendingSend NextSend(WorkloadClient device, WorkloadConversation conversation, int sent, Dictionary<string, List<ulong>> own)
    {
        var clientMsgId = $"{device.Device}-{sent}-{Guid.NewGuid().ToString("N")[..12]}";
        if (sent % 3 != 0 || !own.TryGetValue(conversation.Id, out var targets) || targets.Count == 0)
        {
            return new(conversation, clientMsgId, $"{device.Device} #{sent} to {conversation.Name}", 0);
        }

        var target = targets[^1];
        switch (sent / 3 % 3)
        {
            case 0:
                return new(conversation, clientMsgId, sent % 2 == 0 ? "👍" : "🎉", 0, "reaction", target);
            case 1:
                return new(conversation, clientMsgId, $"{device.Device} #{sent} edits seq {target}", 0, "edit", target);
            default:
                targets.RemoveAt(targets.Count - 1);
                return new(conversation, clientMsgId, "", 0, "delete", target);
        }
    }

    private async Task SendLoopAsync(WorkloadClient device)
    {
        var user = Users.First(u => u.UserId == device.UserId);
        var mine = Conversations.Where(c => c.Members.Contains(user)).ToList();
        var pending = new Queue<PendingSend>();
        var own = new Dictionary<string, List<ulong>>(StringComparer.Ordinal);
        var sent = 0;
        var acked = 0;
        var knownDirect = new HashSet<string>(StringComparer.Ordinal);
        while (!_hardStop.IsCancellationRequested)
        {
            var sendingNew = !_stopNew.IsCancellationRequested && sent < _options.MaxMessagesPerDevice;
            if (pending.Count == 0 && !sendingNew)
            {
                break;
            }

            if (pending.Count == 0)
            {
                var conversation = mine[sent % mine.Count];
                sent++;
                pending.Enqueue(NextSend(device, conversation, sent, own));
            }

            var next = pending.Dequeue();
            var target = next.Conversation;
            MessageDto? entry;
            if (next.Kind == "message")
            {
                // 1:1 conversations start with a send to the peer (which creates the conversation);
                // once one ack is seen, sends name the conversation.
                var peer = target.Id.StartsWith(ConversationId.DirectPrefix, StringComparison.Ordinal) && !knownDirect.Contains(target.Id)
                    ? target.Members.First(m => m.UserId != device.UserId).UserId
                    : null;
                entry = (await device.TrySendAsync(peer is null ? target.Id : null, peer, next.ClientMsgId, next.Text, next.Attempts + 1, target.Id))?.Message;
            }
            else
            {
                entry = (await device.TryLifecycleAsync(next.Kind, target.Id, next.TargetSeq, next.ClientMsgId, next.Text, next.Attempts + 1))?.Entry;
            }

            if (entry is null)
            {
                // Retried first, so this device's messages keep their order.
                pending = new Queue<PendingSend>([next with { Attempts = next.Attempts + 1 }, .. pending]);
                await Delay(TimeSpan.FromMilliseconds(250));
                continue;
            }

            knownDirect.Add(entry.ConversationId);
            if (next.Kind == "message")
            {
                (own.TryGetValue(target.Id, out var list) ? list : own[target.Id] = []).Add(entry.Seq);
            }

            acked++;
            if (acked % 5 == 0)
            {
                await device.SendDeliveredReceiptAsync(mine[acked / 5 % mine.Count].Id, _hardStop.Token);
            }

            await Delay(_options.SendInterval);
        }

        lock (_loops)
        {
            Unacknowledged += pending.Count;
        }
    }

    private Task Delay(TimeSpan delay) => Task.Delay(delay, _hardStop.Token).ContinueWith(_ => { }, TaskScheduler.Default);

    public async ValueTask DisposeAsync()
    {
        await _stopNew.CancelAsync();
        await _hardStop.CancelAsync();
        try
        {
            await Task.WhenAll(_loops);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var d in Devices)
        {
            await d.DisposeAsync();
        }

        _stopNew.Dispose();
        _hardStop.Dispose();
    }
}
