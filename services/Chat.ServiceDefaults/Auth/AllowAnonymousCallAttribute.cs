namespace Chat.ServiceDefaults.Auth;

/// <summary>
/// Marks a gRPC service method (the override in the service class) as callable without an
/// access token; <see cref="ChatAuthInterceptor"/> lets such calls through.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class, Inherited = true, AllowMultiple = false)]
public sealed class AllowAnonymousCallAttribute : Attribute;
