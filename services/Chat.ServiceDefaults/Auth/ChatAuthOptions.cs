using Chat.Domain;

namespace Chat.ServiceDefaults.Auth;

/// <summary>Token and interceptor settings, bound from the <c>Chat:Auth</c> configuration section.</summary>
public sealed class ChatAuthOptions
{
    public const string SectionName = "Chat:Auth";

    /// <summary>The <c>iss</c> and <c>aud</c> of every access token.</summary>
    public const string IssuerAndAudience = "chat-dapr";

    /// <summary>How long an access token is valid (15 minutes unless configured).</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How far a token's times may be off the server clock.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Full gRPC method names (<c>/package.Service/Method</c>) that need no token, besides
    /// methods marked <see cref="AllowAnonymousCallAttribute"/> and services in
    /// <see cref="AnonymousServices"/>.
    /// </summary>
    public ISet<string> AnonymousMethods { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "/chat.v1.DirectoryService/Register",
        "/chat.v1.DirectoryService/Login",
        "/chat.v1.DirectoryService/Refresh",
    };

    /// <summary>
    /// Full gRPC service names whose every method needs no user token (health, reflection).
    /// </summary>
    public ISet<string> AnonymousServices { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    };

    /// <summary>
    /// Service-to-service contracts: no user token, but the call must come through Dapr from
    /// one of <see cref="InternalCallers"/> (the <c>dapr-caller-app-id</c> metadata the
    /// sidecar sets). The gateway never proxies them, and is not a caller.
    /// </summary>
    public ISet<string> InternalServices { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "chat.v1.DirectoryInternalService",
    };

    /// <summary>App-ids allowed to call <see cref="InternalServices"/>.</summary>
    public ISet<string> InternalCallers { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        DaprNames.Apps.Messaging,
        DaprNames.Apps.Delivery,
        DaprNames.Apps.Presence,
        DaprNames.Apps.Router, // ConversationActor: members of the conversations it stores messages for
    };

    /// <summary>
    /// Full gRPC method names that take no user token but only calls through Dapr from the
    /// listed app-ids (<c>dapr-caller-app-id</c>), e.g. presence's gateway-only reports.
    /// </summary>
    public IDictionary<string, ISet<string>> CallerRestrictedMethods { get; } = new Dictionary<string, ISet<string>>(StringComparer.Ordinal);

    /// <summary>
    /// The token the app's sidecar sends as <c>dapr-api-token</c> (the app's APP_API_TOKEN).
    /// When set, every call without it is refused: only the sidecar may call the app.
    /// </summary>
    public string? AppApiToken { get; set; }
}
