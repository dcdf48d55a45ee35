namespace Chat.Directory.State;

// The JSON shapes stored in directory-store. Mutable classes: a read-modify-write changes
// the object it just read, then writes it back under the ETag it was read with.

/// <summary>Key layout of directory-store (the sidecar adds its own app prefix).</summary>
public static class DirectoryKeys
{
    public static string User(string userId) => $"user:{userId}";
    public static string UserName(string userName) => $"username:{userName}";
    public static string Devices(string userId) => $"user:{userId}:devices";
    public static string Conversations(string userId) => $"user:{userId}:convs";
    public static string ConversationSettings(string userId, string conversationId) => $"user:{userId}:settings:{conversationId}";
    public static string RefreshToken(string tokenHash) => $"refresh:{tokenHash}";
    public static string Group(string groupId) => $"group:{groupId}";
    public static string Direct(string conversationId) => $"direct:{conversationId}";
    public static string Bots(string ownerId) => $"user:{ownerId}:bots";
}

/// <summary><c>user:{uid}</c>: profile, password hash and privacy.</summary>
public sealed class UserRecord
{
    public string UserId { get; set; } = "";
    public string UserName { get; set; } = "";
    public string DisplayName { get; set; } = "";
    public string AvatarUri { get; set; } = "";
    public string PasswordHash { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public PrivacyRecord Privacy { get; set; } = new();

    /// <summary>Set for bot accounts (no password; see <see cref="BotRecord"/>).</summary>
    public BotRecord? Bot { get; set; }
}

/// <summary>A bot account's owner and webhook.</summary>
public sealed class BotRecord
{
    public string OwnerId { get; set; } = "";
    public string WebhookUrl { get; set; } = "";

    /// <summary>The HMAC-SHA256 key: the bots app needs it to sign, so it is kept as is (the store is the directory's alone).</summary>
    public string SigningSecret { get; set; } = "";
}

/// <summary><c>user:{uid}:bots</c>: the bots a user owns, oldest first.</summary>
public sealed class BotsIndexRecord
{
    public List<string> BotIds { get; set; } = [];
}

/// <summary>Privacy settings; the defaults are the product's.</summary>
public sealed class PrivacyRecord
{
    /// <summary><c>LastSeenVisibility</c> value; EVERYONE by default.</summary>
    public int LastSeen { get; set; } = 1;
    public bool ReadReceipts { get; set; } = true;
    public bool PushPreviews { get; set; } = true;

    /// <summary><c>GroupAddPolicy</c> value; EVERYONE by default.</summary>
    public int GroupAdd { get; set; } = 1;
}

/// <summary><c>username:{name}</c>: which user holds the name.</summary>
public sealed class UserNameRecord
{
    public string UserId { get; set; } = "";
}

/// <summary><c>refresh:{sha256}</c>: whose refresh token it is (the token itself is never stored).</summary>
public sealed class RefreshTokenRecord
{
    public string UserId { get; set; } = "";
    public string DeviceId { get; set; } = "";
    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary><c>user:{uid}:devices</c>: every push registration of a user.</summary>
public sealed class DevicesRecord
{
    public List<DeviceRecord> Devices { get; set; } = [];
}

/// <summary>One push registration.</summary>
public sealed class DeviceRecord
{
    public string DeviceId { get; set; } = "";
    public int Platform { get; set; }
    public string PushToken { get; set; } = "";
    public string WebPushEndpoint { get; set; } = "";
    public string WebPushP256dh { get; set; } = "";
    public string WebPushAuth { get; set; } = "";
    public string ApnsTopic { get; set; } = "";
    public DateTimeOffset RegisteredAt { get; set; }
}

/// <summary><c>user:{uid}:convs</c>: the user's conversation index.</summary>
public sealed class ConversationIndexRecord
{
    public List<ConversationEntry> Conversations { get; set; } = [];
}

/// <summary>One conversation a user belongs to.</summary>
public sealed class ConversationEntry
{
    public string ConversationId { get; set; } = "";
    public string PeerUserId { get; set; } = "";
    public DateTimeOffset JoinedAt { get; set; }
}

/// <summary><c>user:{uid}:settings:{cid}</c>: per-conversation settings.</summary>
public sealed class ConversationSettingsRecord
{
    public bool Muted { get; set; }
    public bool HidePreviews { get; set; }

    /// <summary>With <see cref="Muted"/>: when the mute ends (null: muted until unmuted).</summary>
    public DateTimeOffset? MutedUntil { get; set; }

    /// <summary>True while muted at <paramref name="now"/>.</summary>
    public bool IsMuted(DateTimeOffset now) => Muted && (MutedUntil is null || MutedUntil > now);
}

/// <summary><c>group:{gid}</c>: the group header and its whole membership, in one key.</summary>
public sealed class GroupRecord
{
    public string GroupId { get; set; } = "";
    public string Title { get; set; } = "";
    public string OwnerId { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Grows with every stored change (0 for groups stored before versions): orders the member lists pushed to the conversation actor.</summary>
    public ulong Version { get; set; }

    /// <summary>Members in join order.</summary>
    public List<MemberRecord> Members { get; set; } = [];

    public MemberRecord? Find(string userId) => Members.Find(m => m.UserId == userId);
}

/// <summary>A group member.</summary>
public sealed class MemberRecord
{
    public string UserId { get; set; } = "";

    /// <summary><c>GroupRole</c> value.</summary>
    public int Role { get; set; }

    public DateTimeOffset JoinedAt { get; set; }
}

/// <summary><c>direct:{cid}</c>: the direct conversation was ensured (both users existed then).</summary>
public sealed class DirectConversationRecord
{
    public DateTimeOffset CreatedAt { get; set; }
}
