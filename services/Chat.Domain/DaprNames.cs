namespace Chat.Domain;

/// <summary>
/// Every Dapr name the services use. Each constant matches a <c>metadata.name</c> in
/// <c>components/*/</c> or an app-id in <c>dapr.yaml</c>; change both together.
/// </summary>
public static class DaprNames
{
    /// <summary>Dapr app-ids (dapr.yaml <c>appID</c>).</summary>
    public static class Apps
    {
        public const string Gateway = "gateway";
        public const string Messaging = "messaging";
        public const string Directory = "directory";
        public const string Presence = "presence";
        public const string Router = "router";
        public const string Delivery = "delivery";

        /// <summary>The Node.js bots app (services/chat-bots): outgoing webhooks of bot accounts.</summary>
        public const string Bots = "bots";
    }

    /// <summary>State store components.</summary>
    public static class StateStores
    {
        /// <summary>Messages, dedup entries, cursors and the outbox (Cassandra in production).</summary>
        public const string Messages = "messages-store";

        /// <summary>Users, credentials, groups, devices and conversation indexes.</summary>
        public const string Directory = "directory-store";

        /// <summary>Presence entries with TTL and last-seen times.</summary>
        public const string Presence = "presence-store";

        /// <summary>Actor state (<c>actorStateStore: "true"</c>): needs ETags and transactions.</summary>
        public const string Actors = "actor-store";
    }

    /// <summary>The one pub/sub component.</summary>
    public const string PubSub = "chat-pubsub";

    /// <summary>Pub/sub topics.</summary>
    public static class Topics
    {
        public const string MessageCreated = "message-created";

        /// <summary>
        /// The same <c>MessageCreated</c> events, only for conversations with a bot member other than
        /// the sender: the bots app reads these and is not woken by every message of the system.
        /// </summary>
        public const string BotMessageCreated = "bot-message-created";
        public const string ReceiptUpdated = "receipt-updated";
        public const string PresenceChanged = "presence-changed";
        public const string TypingChanged = "typing-changed";
        public const string GroupChanged = "group-changed";

        /// <summary>An attachment blob was stored: delivery makes thumbnails of images.</summary>
        public const string MediaUploaded = "media-uploaded";

        /// <summary>Prefix of the per-gateway-instance delivery topics.</summary>
        public const string DeliveriesPrefix = "deliveries.";

        /// <summary>The delivery topic of one gateway instance.</summary>
        public static string Deliveries(string gatewayInstanceId) => DeliveriesPrefix + gatewayInstanceId;

        /// <summary>Prefix of the per-instance route-invalidation topics of the route caches (router and delivery instances).</summary>
        public const string RouteChangesPrefix = "route-changes.";

        /// <summary>The route-invalidation topic of one route-caching instance.</summary>
        public static string RouteChanges(string holderInstanceId) => RouteChangesPrefix + holderInstanceId;
    }

    /// <summary>Output bindings for push notifications.</summary>
    public static class Bindings
    {
        public const string Apns = "push-apns";
        public const string Fcm = "push-fcm";
        public const string WebPush = "push-webpush";

        /// <summary>The bots app's only way out to bot webhooks (bindings.http; its url is the allowed base).</summary>
        public const string BotWebhooks = "bot-webhooks";

        /// <summary>Attachment blobs: bindings.localstorage in the dev sets, an object store in production.</summary>
        public const string Media = "media-store";
    }

    /// <summary>The secret store and the secrets read from it.</summary>
    public static class Secrets
    {
        public const string Store = "chat-secrets";
        public const string JwtSigningKey = "jwt-signing-key";
        public const string FcmServiceAccount = "fcm-service-account";
        public const string VapidPrivateKey = "vapid-private-key";
        public const string VapidPublicKey = "vapid-public-key";
    }

    /// <summary>Actor types hosted by the router app.</summary>
    public static class Actors
    {
        public const string User = "UserActor";
        public const string Conversation = "ConversationActor";
    }
}
