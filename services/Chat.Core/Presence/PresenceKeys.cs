using System.Text.Json;
using System.Text.Json.Serialization;
using Chat.Contracts.V1;

namespace Chat.Core.Presence;

/// <summary>
/// Keys in the presence store (keyPrefix "name", shared by presence, gateway and delivery).
/// "Online" means a live <see cref="Online"/> key: gateways rewrite them in one transaction per
/// refresh with a TTL of about 2.5 refresh intervals, so they lapse by themselves when a gateway dies.
/// </summary>
public static class PresenceKeys
{
    /// <summary>The user's online marker (<see cref="PresenceEntry"/>), saved with ttlInSeconds.</summary>
    public static string Online(string userId) => $"presence:{userId}";

    /// <summary>The user's last-seen time (<see cref="PresenceEntry"/> without a gateway), no TTL.</summary>
    public static string LastSeen(string userId) => $"lastseen:{userId}";

    /// <summary>Who a gateway instance reported online last (<see cref="GatewayPresenceSnapshot"/>), for the expiry sweep.</summary>
    public static string GatewaySnapshot(string gatewayInstanceId) => $"presence:gateway:{gatewayInstanceId}";

    /// <summary>The gateway instances that have a snapshot (<see cref="GatewayIndex"/>), so the sweep can find them.</summary>
    public const string Gateways = "presence:gateways";

    /// <summary>Who watches the user's presence (<see cref="WatcherSet"/>), written by gateways, read by delivery.</summary>
    public static string Watchers(string userId) => $"watchers:{userId}";

    public const uint DefaultRefreshSeconds = 10;

    /// <summary>TTL of the online markers: 2.5 refresh intervals, rounded up, at least 2 s.</summary>
    public static int TtlSeconds(uint refreshIntervalSeconds)
    {
        var refresh = refreshIntervalSeconds == 0 ? DefaultRefreshSeconds : refreshIntervalSeconds;
        return Math.Max(2, (int)Math.Ceiling(refresh * 2.5));
    }

    /// <summary>TTL of a gateway snapshot: long enough for the sweep to see it after the markers lapsed.</summary>
    public static int SnapshotTtlSeconds(int presenceTtlSeconds) => Math.Max(60, presenceTtlSeconds * 10);

    /// <summary>The JSON options the Dapr client uses, for values written as raw bytes in transactions.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Json);
}

/// <summary>An online marker (gateway and time) or a last-seen time (no gateway). Times are Unix milliseconds.</summary>
public sealed record PresenceEntry(
    [property: JsonPropertyName("g")] string? GatewayInstanceId,
    [property: JsonPropertyName("at")] long At)
{
    public DateTimeOffset Time => DateTimeOffset.FromUnixTimeMilliseconds(At);
}

/// <summary>The users a gateway instance reported, when, and the TTL it was given.</summary>
public sealed record GatewayPresenceSnapshot(
    [property: JsonPropertyName("users")] IReadOnlyList<string> Users,
    [property: JsonPropertyName("at")] long ReportedAt,
    [property: JsonPropertyName("ttl")] int TtlSeconds);

/// <summary>The gateway instances with a snapshot.</summary>
public sealed record GatewayIndex([property: JsonPropertyName("gateways")] IReadOnlyList<string> Gateways);

/// <summary>One watcher of a user's presence, until <see cref="ExpiresAt"/> (Unix ms) unless re-asserted.</summary>
public sealed record WatcherEntry(
    [property: JsonPropertyName("u")] string UserId,
    [property: JsonPropertyName("exp")] long ExpiresAt);

/// <summary>The watchers of one user.</summary>
public sealed record WatcherSet([property: JsonPropertyName("w")] IReadOnlyList<WatcherEntry> Watchers);

/// <summary>
/// Who may see whose presence ("online" and "last seen"). The rule is reciprocal: a viewer sees
/// a user only if the user's setting allows the viewer AND the viewer's own setting would let
/// the user see them. "Contacts" (sharing a conversation) is symmetric, so the rule is too.
/// </summary>
public static class PresencePrivacy
{
    public static bool Allows(LastSeenVisibility setting, bool isContact) => setting switch
    {
        LastSeenVisibility.Nobody => false,
        LastSeenVisibility.Contacts => isContact,
        _ => true, // EVERYONE, and UNSPECIFIED which means EVERYONE
    };

    /// <summary>True when the viewer may see the user's presence.</summary>
    public static bool Visible(LastSeenVisibility userSetting, LastSeenVisibility viewerSetting, bool isContact) =>
        Allows(userSetting, isContact) && Allows(viewerSetting, isContact);
}
