using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Chat.Contracts.V1;
using Chat.Domain;
using Chat.ServiceDefaults;
using Dapr.Client;

namespace Chat.Core.Routing;

/// <summary>
/// Who of a set of users is connected where, from one bulk read of routes and one of leases.
/// <see cref="Offline"/> are the users with no gateway of a live lease (to push to); a user whose
/// only gateway's lease lapsed moments ago is in both (see <see cref="FanOut.ResolveAsync"/>).
/// </summary>
public sealed record RouteTable(IReadOnlyDictionary<string, List<string>> UsersByGateway, IReadOnlyList<string> Offline);

/// <summary>
/// One message's live delivery: its recipients other than the sender with no live connection
/// (for push), and the members on the calling gateway, which delivers to them itself.
/// </summary>
public sealed record LiveDeliveryResult(IReadOnlyList<string> Offline, IReadOnlyList<string> Kept);

/// <summary>
/// Hybrid fan-out: users with a live connection get the event through their gateway instance's
/// topic, batched (one publish per gateway instance, whatever the group size); the others are
/// returned as offline, for push and later sync. Used by delivery for every event and by the
/// router's ConversationActor for the messages of small conversations (one pub/sub hop less).
/// </summary>
public sealed class FanOut(DaprClient dapr, TimeProvider time, RouteCache? cache = null)
{
    /// <summary>
    /// How long a lease read is trusted. Leases live for <see cref="RouteKeys.LeaseTtl"/>, so a dead
    /// gateway is noticed this much later at most, and a busy delivery app reads leases once a
    /// second instead of once per event.
    /// </summary>
    public static readonly TimeSpan LeaseCacheTime = TimeSpan.FromSeconds(1);

    private static readonly Counter<long> LapsedCounter = ChatTelemetry.Meter.CreateCounter<long>(
        "chat.routing.lapsed_leases", description: "Lease reads that found a gateway's lease lapsed within a TTL of being seen live (its users got the event there and a push)");

    /// <summary>
    /// When each gateway's lease was last read as live: trusted as live for <see cref="LeaseCacheTime"/>;
    /// a lapse shorter than a lease's TTL after it is a late renewal or a dead gateway, not yet known which.
    /// </summary>
    private readonly ConcurrentDictionary<string, long> _confirmedAt = new(StringComparer.Ordinal);

    private long _lapsedLeases;

    /// <summary>Times a lease read found a gateway lapsed but seen live within a TTL (also <c>chat.routing.lapsed_leases</c>).</summary>
    public long LapsedLeases => Interlocked.Read(ref _lapsedLeases);

    /// <summary>
    /// Where each user is connected, keeping only gateway instances with a live lease: from the
    /// route cache where it serves, the rest in one bulk read of their routes (each read only for
    /// its gateway ids, <see cref="RouteGateways"/>), which the cache then keeps.
    /// </summary>
    public async Task<RouteTable> ResolveAsync(IReadOnlyCollection<string> userIds, CancellationToken ct)
    {
        var serving = cache?.Serving == true;
        var versionBeforeRead = serving ? cache!.Version : 0;
        var userOfKey = new Dictionary<string, string>(StringComparer.Ordinal);
        var distinct = new List<string>(userIds.Count);
        var seen = new HashSet<string>(userIds.Count, StringComparer.Ordinal);
        var known = new List<string>();
        var gatewaysOf = new Dictionary<string, IReadOnlyList<string>>(userIds.Count, StringComparer.Ordinal);
        foreach (var userId in userIds)
        {
            if (!seen.Add(userId))
            {
                continue;
            }

            distinct.Add(userId);
            if (serving && cache!.TryGet(userId, out var cached))
            {
                gatewaysOf[userId] = cached;
                foreach (var gateway in cached)
                {
                    if (!known.Contains(gateway))
                    {
                        known.Add(gateway);
                    }
                }
            }
            else
            {
                userOfKey[RouteKeys.Routes(userId)] = userId;
            }
        }

        if (userOfKey.Count > 0)
        {
            var items = await dapr.GetBulkStateAsync(DaprNames.StateStores.Presence, [.. userOfKey.Keys], parallelism: null, cancellationToken: ct);
            var read = new List<KeyValuePair<string, IReadOnlyList<string>>>(items.Count);
            foreach (var item in items)
            {
                if (!userOfKey.TryGetValue(item.Key, out var userId))
                {
                    continue;
                }

                var gateways = new List<string>(1);
                if (string.IsNullOrEmpty(item.Value) || RouteGateways.TryRead(item.Value, known, gateways))
                {
                    // No routes (never connected, or the last connection went) is cached too: offline.
                    gatewaysOf[userId] = gateways;
                    read.Add(new(userId, gateways));
                }
            }

            if (serving)
            {
                cache!.Store(read, versionBeforeRead);
            }
        }

        var (live, lapsed) = await LiveAsync(known, ct);
        var usersByGateway = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var offline = new List<string>();
        foreach (var userId in distinct)
        {
            var any = false;
            if (gatewaysOf.TryGetValue(userId, out var gateways))
            {
                foreach (var gateway in gateways)
                {
                    var isLive = live.Contains(gateway);
                    if (!isLive && !lapsed.Contains(gateway))
                    {
                        continue;
                    }

                    if (!usersByGateway.TryGetValue(gateway, out var list))
                    {
                        usersByGateway[gateway] = list = [];
                    }

                    list.Add(userId);
                    any |= isLive;
                }
            }

            // Users reached only through a lapsed lease get the event there and as a push too:
            // a late renewal must not turn every live delivery of that gateway into a push only.
            if (!any)
            {
                offline.Add(userId);
            }
        }

        return new RouteTable(usersByGateway, offline);
    }

    /// <summary>
    /// The gateways with a live lease, and those whose lease lapsed less than a lease's TTL after it
    /// was last read as live. A lapsed lease is a gateway that died, or one whose renewal is late
    /// (a pause, a slow store); the caller sends to both kinds and pushes to the users of the second.
    /// </summary>
    private async Task<(IReadOnlySet<string> Live, IReadOnlySet<string> Lapsed)> LiveAsync(List<string> gateways, CancellationToken ct)
    {
        var now = time.GetTimestamp();
        var trusted = (long)(LeaseCacheTime.TotalSeconds * time.TimestampFrequency);
        var live = new HashSet<string>(StringComparer.Ordinal);
        var lapsed = new HashSet<string>(StringComparer.Ordinal);
        var unknown = new List<string>();
        foreach (var gateway in gateways)
        {
            if (_confirmedAt.TryGetValue(gateway, out var at) && now - at < trusted)
            {
                live.Add(gateway);
            }
            else
            {
                unknown.Add(gateway);
            }
        }

        if (unknown.Count == 0)
        {
            return (live, lapsed);
        }

        foreach (var gateway in await LiveGateways.ReadAsync(dapr, unknown, ct))
        {
            _confirmedAt[gateway] = now;
            live.Add(gateway);
        }

        var grace = (long)(RouteKeys.LeaseTtl.TotalSeconds * time.TimestampFrequency);
        foreach (var gateway in unknown.Where(g => !live.Contains(g)))
        {
            if (!_confirmedAt.TryGetValue(gateway, out var at))
            {
                continue;
            }

            if (now - at < grace)
            {
                lapsed.Add(gateway);
                Interlocked.Increment(ref _lapsedLeases);
                LapsedCounter.Add(1);
            }
            else
            {
                _confirmedAt.TryRemove(gateway, out _);
            }
        }

        return (live, lapsed);
    }

    /// <summary>
    /// Publishes several events at once: each to its own users, one batch per gateway instance
    /// for all of them (a bulk subscription's worth of messages costs one publish per gateway);
    /// nothing to <paramref name="skipGateway"/>, which delivers its users' share itself.
    /// </summary>
    public Task PublishManyAsync(RouteTable table, IReadOnlyList<(Chat.Contracts.V1.Delivery Delivery, IReadOnlyCollection<string> UserIds)> events, CancellationToken ct, string? skipGateway = null) =>
        Task.WhenAll(table.UsersByGateway.Where(kv => kv.Key != skipGateway).Select(kv =>
        {
            var here = kv.Value.ToHashSet(StringComparer.Ordinal);
            var batch = new DeliveryBatch { GatewayInstanceId = kv.Key };
            foreach (var (template, userIds) in events)
            {
                var delivery = template.Clone();
                delivery.UserIds.AddRange(userIds.Where(here.Contains).Distinct(StringComparer.Ordinal));
                if (delivery.UserIds.Count > 0)
                {
                    batch.Deliveries.Add(delivery);
                }
            }

            return batch.Deliveries.Count == 0 ? Task.CompletedTask : dapr.PublishProtoAsync(DaprNames.PubSub, DaprNames.Topics.Deliveries(kv.Key), batch, ct);
        }));

    /// <summary>
    /// Live delivery of new messages, each to its members (the sender included: their other
    /// devices show it too): one route read for all, one batch per gateway instance. Returns, per
    /// message in order, its recipients other than the sender who have no live connection (for push).
    /// </summary>
    public async Task<IReadOnlyList<IReadOnlyList<string>>> DeliverMessagesAsync(
        IReadOnlyList<(MessageCreated Event, IReadOnlyCollection<string> Members)> messages, CancellationToken ct)
    {
        var table = await ResolveAsync(messages.SelectMany(m => m.Members).ToList(), ct);
        await PublishManyAsync(table, messages.Select(m => (LiveDelivery(m.Event), m.Members)).ToList(), ct);
        return messages.Select(m => Offline(table, m.Event, m.Members)).ToList();
    }

    /// <summary>
    /// Live delivery of one new message sent through <paramref name="callerGateway"/>: as
    /// <see cref="DeliverMessagesAsync"/>, except that the members connected to that gateway are not
    /// published to but returned (<see cref="LiveDeliveryResult.Kept"/>), for the caller to deliver
    /// itself: no pub/sub hop for a recipient on the sender's own gateway.
    /// </summary>
    public async Task<LiveDeliveryResult> DeliverMessageAsync(MessageCreated created, IReadOnlyCollection<string> members, string callerGateway, CancellationToken ct)
    {
        var table = await ResolveAsync(members, ct);
        var kept = callerGateway.Length > 0 && table.UsersByGateway.TryGetValue(callerGateway, out var here) ? here : null;
        await PublishManyAsync(table, [(LiveDelivery(created), members)], ct, kept is null ? null : callerGateway);
        return new LiveDeliveryResult(Offline(table, created, members), kept ?? []);
    }

    /// <summary>The members connected to <paramref name="gateway"/>, from one route read (throws as <see cref="ResolveAsync"/> does).</summary>
    public async Task<IReadOnlyList<string>> ConnectedToAsync(IReadOnlyCollection<string> members, string gateway, CancellationToken ct) =>
        (await ResolveAsync(members, ct)).UsersByGateway.TryGetValue(gateway, out var here) ? here : [];

    private static List<string> Offline(RouteTable table, MessageCreated created, IReadOnlyCollection<string> members)
    {
        var offline = table.Offline.ToHashSet(StringComparer.Ordinal);
        return members.Where(u => u != created.Message.SenderId && offline.Contains(u)).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>What a new message's live event carries: the message, its conversation's kind and the sending connection.</summary>
    public static MessageCreated Created(StoredMessage message, string senderConnectionId) => new()
    {
        Message = message.ToContract(),
        Kind = message.ConversationId.StartsWith(ConversationId.GroupPrefix, StringComparison.Ordinal) ? ConversationKind.Group : ConversationKind.Direct,
        SenderConnectionId = senderConnectionId,
    };

    /// <summary>
    /// What a gateway gets of a new message: the message without the member list (a gateway needs
    /// only its own users, the batch's user_ids; for a large group the list was most of each
    /// delivery's bytes), and the sending connection left out (it has the ack; the sender's other
    /// tabs and devices still get it).
    /// </summary>
    public static Chat.Contracts.V1.Delivery LiveDelivery(MessageCreated evt)
    {
        var created = new MessageCreated { Message = evt.Message, Kind = evt.Kind, SenderConnectionId = evt.SenderConnectionId };
        var delivery = new Chat.Contracts.V1.Delivery { MessageCreated = created };
        if (evt.SenderConnectionId.Length > 0)
        {
            delivery.ExcludeConnectionIds.Add(evt.SenderConnectionId);
        }

        return delivery;
    }

    /// <summary>Publishes one batch per gateway instance carrying <paramref name="build"/>'s event for its users.</summary>
    public Task PublishAsync(RouteTable table, Func<Chat.Contracts.V1.Delivery> build, CancellationToken ct) =>
        PublishManyAsync(table, [(build(), table.UsersByGateway.Values.SelectMany(users => users).ToList())], ct);
}
