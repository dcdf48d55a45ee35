namespace Chat.Gateway.Hubs;

/// <summary>
/// The error codes a hub method answers with besides the ones every method may give
/// (unauthenticated, unavailable, internal). The README's hub API table is generated from
/// these, the XML docs and the signatures, and a test keeps it in step.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class HubErrorCodesAttribute(params string[] codes) : Attribute
{
    public IReadOnlyList<string> Codes { get; } = codes;
}
