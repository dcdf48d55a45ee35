using System.Diagnostics.CodeAnalysis;

namespace Chat.Domain;

/// <summary>Whether a conversation is one-to-one or a group.</summary>
public enum ConversationType
{
    /// <summary>Between exactly two users: <c>dm:{a}:{b}</c> with the ids in ordinal order.</summary>
    Direct,

    /// <summary>A group: <c>grp:{groupId}</c>.</summary>
    Group,
}

/// <summary>
/// A conversation id. Direct ids are derived from the two user ids, sorted, so both sides
/// compute the same id with no lookup; group ids wrap the group id.
/// </summary>
public readonly record struct ConversationId
{
    public const string DirectPrefix = "dm:";
    public const string GroupPrefix = "grp:";

    private ConversationId(string value, ConversationType type)
    {
        Value = value;
        Type = type;
    }

    /// <summary>The id as stored and sent on the wire.</summary>
    public string Value { get; }

    /// <summary>Direct or group.</summary>
    public ConversationType Type { get; }

    /// <summary>The id of the direct conversation between two distinct users.</summary>
    public static ConversationId Direct(string userA, string userB)
    {
        EnsureValidPart(userA, nameof(userA));
        EnsureValidPart(userB, nameof(userB));
        var order = string.CompareOrdinal(userA, userB);
        if (order == 0)
        {
            throw new ArgumentException("A direct conversation needs two different users.", nameof(userB));
        }

        return order < 0
            ? new ConversationId($"{DirectPrefix}{userA}:{userB}", ConversationType.Direct)
            : new ConversationId($"{DirectPrefix}{userB}:{userA}", ConversationType.Direct);
    }

    /// <summary>The id of a group's conversation.</summary>
    public static ConversationId Group(string groupId)
    {
        EnsureValidPart(groupId, nameof(groupId));
        return new ConversationId(GroupPrefix + groupId, ConversationType.Group);
    }

    /// <summary>Parses an id from the wire; false when it is not a well-formed id.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out ConversationId id)
    {
        id = default;
        if (string.IsNullOrEmpty(value) || value.Length > 200)
        {
            return false;
        }

        if (value.StartsWith(DirectPrefix, StringComparison.Ordinal))
        {
            var parts = value[DirectPrefix.Length..].Split(':');
            if (parts.Length != 2 || !Identifiers.IsValidId(parts[0]) || !Identifiers.IsValidId(parts[1])
                || string.CompareOrdinal(parts[0], parts[1]) >= 0)
            {
                return false;
            }

            id = new ConversationId(value, ConversationType.Direct);
            return true;
        }

        if (value.StartsWith(GroupPrefix, StringComparison.Ordinal) && Identifiers.IsValidId(value[GroupPrefix.Length..]))
        {
            id = new ConversationId(value, ConversationType.Group);
            return true;
        }

        return false;
    }

    /// <summary>For a direct conversation, the two users (in ordinal order).</summary>
    public (string First, string Second) DirectMembers()
    {
        if (Type != ConversationType.Direct)
        {
            throw new InvalidOperationException($"{Value} is not a direct conversation.");
        }

        var parts = Value[DirectPrefix.Length..].Split(':');
        return (parts[0], parts[1]);
    }

    /// <summary>For a direct conversation, the member who is not <paramref name="userId"/>.</summary>
    public string PeerOf(string userId)
    {
        var (a, b) = DirectMembers();
        return a == userId ? b : b == userId ? a : throw new ArgumentException($"{userId} is not in {Value}.", nameof(userId));
    }

    /// <summary>For a group conversation, the group id.</summary>
    public string GroupId => Type == ConversationType.Group
        ? Value[GroupPrefix.Length..]
        : throw new InvalidOperationException($"{Value} is not a group conversation.");

    public override string ToString() => Value ?? string.Empty;

    private static void EnsureValidPart(string id, string paramName)
    {
        if (!Identifiers.IsValidId(id))
        {
            throw new ArgumentException($"'{id}' is not a valid id ({Identifiers.IdRule}).", paramName);
        }
    }
}
