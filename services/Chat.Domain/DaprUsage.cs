namespace Chat.Domain;

/// <summary>
/// What one app uses of Dapr: the components its sidecar must load (so its <c>scopes</c> in
/// every component set must name it), the topics it publishes and subscribes to, and the apps
/// it invokes. Checked against the code and against components/* by the security tests, and at
/// start-up against the components the sidecar reports (ServiceDefaults' component check).
/// </summary>
public sealed record DaprAppUsage(
    string AppId,
    IReadOnlyList<string> StateStores,
    IReadOnlyList<string> Publishes,
    IReadOnlyList<string> Subscribes,
    IReadOnlyList<string> Bindings,
    IReadOnlyList<string> SecretStores,
    IReadOnlyList<string> Invokes,
    IReadOnlyList<string> HostsActors)
{
    /// <summary>Whether the app publishes or subscribes, so needs the pub/sub component.</summary>
    public bool UsesPubSub => Publishes.Count > 0 || Subscribes.Count > 0;

    /// <summary>Every component name the app's sidecar must load.</summary>
    public IEnumerable<string> Components =>
        StateStores.Concat(Bindings).Concat(SecretStores)
            .Concat(UsesPubSub ? [DaprNames.PubSub] : [])
            .Concat(HostsActors.Count > 0 ? [DaprNames.StateStores.Actors] : [])
            .Distinct(StringComparer.Ordinal);
}

/// <summary>The one table of <see cref="DaprAppUsage"/>, per app-id.</summary>
public static class DaprUsage
{
    private static readonly string[] None = [];

    public static readonly IReadOnlyList<DaprAppUsage> Apps =
    [
        new(DaprNames.Apps.Gateway,
            StateStores: [DaprNames.StateStores.Presence], // gateway leases, live-gateway table
            Publishes: [DaprNames.Topics.TypingChanged, DaprNames.Topics.MediaUploaded],
            Subscribes: [DaprNames.Topics.DeliveriesPrefix + "{instanceId}"],
            Bindings: [DaprNames.Bindings.Media], // attachment blobs behind /media
            SecretStores: [DaprNames.Secrets.Store], // JWT signing key
            // ConversationActor: the hub's SendMessage appends straight to the conversation (no messaging hop).
            Invokes: [DaprNames.Apps.Messaging, DaprNames.Apps.Directory, DaprNames.Apps.Presence, DaprNames.Actors.User, DaprNames.Actors.Conversation],
            HostsActors: None),
        new(DaprNames.Apps.Messaging,
            StateStores: [DaprNames.StateStores.Messages],
            Publishes: [DaprNames.Topics.ReceiptUpdated],
            Subscribes: None,
            Bindings: None,
            SecretStores: [DaprNames.Secrets.Store],
            Invokes: [DaprNames.Apps.Directory, DaprNames.Actors.Conversation],
            HostsActors: None),
        new(DaprNames.Apps.Directory,
            StateStores: [DaprNames.StateStores.Directory],
            Publishes: [DaprNames.Topics.GroupChanged], // GroupEvents: membership, role and title changes
            Subscribes: None,
            Bindings: None,
            SecretStores: [DaprNames.Secrets.Store],
            Invokes: [DaprNames.Actors.Conversation], // GroupMembersPush: a group's new members, before the change returns
            HostsActors: None),
        new(DaprNames.Apps.Presence,
            StateStores: [DaprNames.StateStores.Presence],
            Publishes: [DaprNames.Topics.PresenceChanged],
            Subscribes: None,
            Bindings: None,
            SecretStores: [DaprNames.Secrets.Store],
            Invokes: [DaprNames.Apps.Directory],
            HostsActors: None),
        new(DaprNames.Apps.Router,
            // messages-store: ConversationActor appends; presence-store: the routing mirror;
            // actor-store (besides actor state): a conversation's head where messages-store has no first-write.
            // presence-store also: routes and gateway leases, for the live delivery of small conversations' messages.
            StateStores: [DaprNames.StateStores.Messages, DaprNames.StateStores.Presence, DaprNames.StateStores.Actors],
            // deliveries.*: ConversationActor delivers small conversations' messages to the gateways itself.
            // route-changes.*: UserActor tells every route cache (router and delivery instances) of each change.
            Publishes: [DaprNames.Topics.MessageCreated, DaprNames.Topics.BotMessageCreated, DaprNames.Topics.DeliveriesPrefix + "{instanceId}", DaprNames.Topics.RouteChangesPrefix + "{instanceId}"],
            Subscribes: [DaprNames.Topics.RouteChangesPrefix + "{instanceId}"],
            Bindings: None,
            SecretStores: None,
            Invokes: [DaprNames.Apps.Directory], // ConversationActor: a conversation's members, on first need
            HostsActors: [DaprNames.Actors.Conversation, DaprNames.Actors.User]),
        new(DaprNames.Apps.Delivery,
            // messages-store: PushNotifier reads cursors and headers, thumbnails are recorded; presence-store: who is online where.
            StateStores: [DaprNames.StateStores.Messages, DaprNames.StateStores.Presence],
            Publishes: [DaprNames.Topics.DeliveriesPrefix + "{instanceId}"],
            Subscribes: [DaprNames.Topics.MessageCreated, DaprNames.Topics.ReceiptUpdated, DaprNames.Topics.PresenceChanged, DaprNames.Topics.TypingChanged, DaprNames.Topics.GroupChanged, DaprNames.Topics.MediaUploaded, DaprNames.Topics.RouteChangesPrefix + "{instanceId}"],
            // media-store: thumbnails of uploaded images (reads the upload, writes the preview).
            Bindings: [DaprNames.Bindings.Apns, DaprNames.Bindings.Fcm, DaprNames.Bindings.WebPush, DaprNames.Bindings.Media],
            SecretStores: [DaprNames.Secrets.Store], // FCM service account, VAPID keys
            Invokes: [DaprNames.Apps.Directory],
            HostsActors: None),
        new(DaprNames.Apps.Bots,
            // services/chat-bots (Node.js): webhooks of bot accounts; replies through messaging as the bot.
            StateStores: None,
            Publishes: None,
            Subscribes: [DaprNames.Topics.BotMessageCreated],
            Bindings: [DaprNames.Bindings.BotWebhooks],
            SecretStores: None,
            Invokes: [DaprNames.Apps.Directory, DaprNames.Apps.Messaging],
            HostsActors: None),
    ];

    /// <summary>The usage of <paramref name="appId"/>, or null for an app-id outside the chat system.</summary>
    public static DaprAppUsage? Of(string? appId) => Apps.FirstOrDefault(a => a.AppId == appId);
}
