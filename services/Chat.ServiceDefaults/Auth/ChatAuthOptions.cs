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
    /// Full gRPC service names whose every method needs no user token: service-to-service
    /// contracts protected by Dapr API tokens and scopes, never proxied by the gateway.
    /// </summary>
    public ISet<string> AnonymousServices { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "chat.v1.DirectoryInternalService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    };
}
