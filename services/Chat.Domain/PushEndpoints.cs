using System.Net;
using System.Net.Sockets;

namespace Chat.Domain;

/// <summary>
/// Which Web Push endpoints may be registered and pushed to (configuration section
/// <c>Chat:WebPush</c>). An endpoint is a URL the push relay will POST to, so without this
/// rule a client could aim our servers at internal addresses (SSRF).
/// </summary>
public sealed class WebPushEndpointOptions
{
    public const string SectionName = "Chat:WebPush";

    /// <summary>The browsers' real push services. A host matches an entry equal to it or ending in "." + entry.</summary>
    public static readonly IReadOnlyList<string> DefaultHostSuffixes =
    [
        "fcm.googleapis.com",               // Chrome, Edge on Android, Opera, Samsung Internet
        "android.googleapis.com",           // older Chrome subscriptions (GCM endpoints)
        "updates.push.services.mozilla.com", // Firefox
        "notify.windows.com",               // Edge on Windows (WNS: *.notify.windows.com)
        "web.push.apple.com",               // Safari
    ];

    /// <summary>Allowed push-service host suffixes; setting it replaces <see cref="DefaultHostSuffixes"/>.</summary>
    public string[]? AllowedHostSuffixes { get; set; }

    /// <summary>
    /// Exact origins (<c>scheme://host:port</c>) allowed as they are, even http or loopback: only
    /// for a local push sink or a test fake, named explicitly in that run's configuration.
    /// </summary>
    public string[]? AllowedOrigins { get; set; }

    public IReadOnlyList<string> HostSuffixes => AllowedHostSuffixes ?? DefaultHostSuffixes;
}

/// <summary>The Web Push endpoint rule.</summary>
public static class PushEndpoints
{
    public const int MaxLength = 2048;

    /// <summary>
    /// Null when <paramref name="endpoint"/> may be used: an explicitly allowed origin, or an
    /// https URL without credentials on the default port whose host is a public name (not an IP
    /// literal, not localhost or a local-only suffix) ending in an allowed push-service suffix.
    /// </summary>
    public static ValidationError? Check(string? endpoint, WebPushEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(endpoint) || endpoint.Length > MaxLength || !Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
        {
            return Invalid($"web_push.endpoint must be an absolute https URL of at most {MaxLength} characters.");
        }

        var origin = uri.GetLeftPart(UriPartial.Authority);
        if (options.AllowedOrigins?.Any(o => string.Equals(o.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase)) == true
            && uri.UserInfo.Length == 0)
        {
            return null;
        }

        if (uri.Scheme != Uri.UriSchemeHttps)
        {
            return Invalid("web_push.endpoint must use https.");
        }

        if (uri.UserInfo.Length > 0 || !uri.IsDefaultPort)
        {
            return Invalid("web_push.endpoint must not carry credentials or a port.");
        }

        var host = uri.IdnHost.TrimEnd('.').ToLowerInvariant();
        if (IPAddress.TryParse(host.Trim('[', ']'), out var ip))
        {
            return Invalid(IsPublic(ip)
                ? "web_push.endpoint must name a push service by host name, not an IP address."
                : "web_push.endpoint points at a private, loopback or link-local address.");
        }

        if (IsLocalName(host))
        {
            return Invalid($"web_push.endpoint host '{host}' is not a public host.");
        }

        return options.HostSuffixes.Select(s => s.TrimStart('*', '.').ToLowerInvariant())
            .Any(s => host == s || host.EndsWith("." + s, StringComparison.Ordinal))
            ? null
            : Invalid($"web_push.endpoint host '{host}' is not a known push service (allowed: {string.Join(", ", options.HostSuffixes)}).");
    }

    /// <summary>False for loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified, multicast and documentation ranges.</summary>
    public static bool IsPublic(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.IPv6None))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (b[0] & 0xFE) == 0xFC);
        }

        var v4 = address.GetAddressBytes();
        return v4[0] switch
        {
            0 or 10 or 127 => false,
            100 when v4[1] is >= 64 and <= 127 => false,     // carrier-grade NAT
            169 when v4[1] == 254 => false,                  // link-local, cloud metadata
            172 when v4[1] is >= 16 and <= 31 => false,
            192 when v4[1] == 168 => false,
            192 when v4[1] == 0 && v4[2] is 0 or 2 => false, // IETF, documentation
            198 when v4[1] is 18 or 19 => false,             // benchmarking
            >= 224 => false,                                 // multicast, reserved, broadcast
            _ => true,
        };
    }

    private static bool IsLocalName(string host) =>
        !host.Contains('.', StringComparison.Ordinal)
        || host == "localhost"
        || host.EndsWith(".localhost", StringComparison.Ordinal)
        || host.EndsWith(".local", StringComparison.Ordinal)
        || host.EndsWith(".internal", StringComparison.Ordinal)
        || host.EndsWith(".localdomain", StringComparison.Ordinal)
        || host.EndsWith(".home.arpa", StringComparison.Ordinal)
        || host.EndsWith(".cluster.local", StringComparison.Ordinal);

    private static ValidationError Invalid(string message) => new(ErrorCodes.InvalidPushEndpoint, message);
}
