using Chat.Contracts.V1;
using Chat.Domain;
using Google.Protobuf;
using Grpc.Core;

namespace Chat.Unit.Tests.Fakes;

/// <summary>
/// Directory's internal service as the other apps see it: a <see cref="CallInvoker"/> under the
/// generated <see cref="DirectoryInternalService.DirectoryInternalServiceClient"/>, answering from
/// an in-memory model of users, conversations and settings. Contacts are users who share a
/// conversation, as in directory. Counts calls per method, so caching can be checked.
/// </summary>
public sealed class FakeDirectory : CallInvoker
{
    private readonly Dictionary<string, Conversation> _conversations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LastSeenVisibility> _lastSeen = new(StringComparer.Ordinal);
    private readonly HashSet<string> _hidesReceipts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _calls = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unknownUsers = new(StringComparer.Ordinal);

    public DirectoryInternalService.DirectoryInternalServiceClient Client => new(this);

    /// <summary>Calls made to <paramref name="method"/> (e.g. "GetMembers").</summary>
    public int Calls(string method)
    {
        lock (_calls)
        {
            return _calls.GetValueOrDefault(method);
        }
    }

    public string Direct(string a, string b)
    {
        var id = ConversationId.Direct(a, b).Value;
        _conversations[id] = new Conversation(id, ConversationKind.Direct, "", new Dictionary<string, GroupRole>(StringComparer.Ordinal) { [a] = GroupRole.Member, [b] = GroupRole.Member });
        return id;
    }

    public string Group(string groupId, string owner, params string[] members)
    {
        var id = ConversationId.Group(groupId).Value;
        var roles = new Dictionary<string, GroupRole>(StringComparer.Ordinal) { [owner] = GroupRole.Owner };
        foreach (var m in members)
        {
            roles[m] = GroupRole.Member;
        }

        _conversations[id] = new Conversation(id, ConversationKind.Group, "Group " + groupId, roles);
        return id;
    }

    public void SetRole(string conversationId, string userId, GroupRole role) => _conversations[conversationId].Roles[userId] = role;

    /// <summary>Removes a member and returns the group's new version, as directory's stored change would.</summary>
    public ulong Remove(string conversationId, string userId)
    {
        var c = _conversations[conversationId];
        c.Roles.Remove(userId);
        return ++c.Version;
    }

    /// <summary>Adds a member and returns the group's new version.</summary>
    public ulong Add(string conversationId, string userId)
    {
        var c = _conversations[conversationId];
        c.Roles[userId] = GroupRole.Member;
        return ++c.Version;
    }

    /// <summary>The group's members as directory pushes them to the conversation actor.</summary>
    public Chat.Core.ConversationMembers Members(string conversationId)
    {
        var c = _conversations[conversationId];
        return new Chat.Core.ConversationMembers(c.Version, [.. c.Roles.Keys]);
    }

    /// <summary>EnsureDirectConversation with this peer answers NotFound, as directory does for a user who does not exist.</summary>
    public void Unknown(string userId) => _unknownUsers.Add(userId);

    public void SetLastSeen(string userId, LastSeenVisibility visibility) => _lastSeen[userId] = visibility;

    public void HideReadReceipts(string userId, bool hide = true)
    {
        if (hide)
        {
            _hidesReceipts.Add(userId);
        }
        else
        {
            _hidesReceipts.Remove(userId);
        }
    }

    private bool AreContacts(string a, string b) =>
        _conversations.Values.Any(c => c.Roles.ContainsKey(a) && c.Roles.ContainsKey(b));

    private IMessage Answer(string method, IMessage request)
    {
        switch (request)
        {
            case GetMembersRequest r:
                return _conversations.TryGetValue(r.ConversationId, out var c)
                    ? new GetMembersResponse { Exists = true, Kind = c.Kind, Title = c.Title, MemberIds = { c.Roles.Keys }, Version = c.Version }
                    : new GetMembersResponse { Exists = false };
            case EnsureDirectConversationRequest r:
                if (_unknownUsers.Contains(r.PeerUserId))
                {
                    throw new RpcException(new Status(StatusCode.NotFound, $"No such user: {r.PeerUserId}."), new Metadata { { "chat-error-code", ErrorCodes.NotFound } });
                }

                var existed = _conversations.ContainsKey(ConversationId.Direct(r.UserId, r.PeerUserId).Value);
                return new EnsureDirectConversationResponse { ConversationId = Direct(r.UserId, r.PeerUserId), Created = !existed };
            case GetUserConversationsRequest r:
                var response = new GetUserConversationsResponse();
                foreach (var conv in _conversations.Values.Where(x => x.Roles.ContainsKey(r.UserId)).OrderBy(x => x.Id, StringComparer.Ordinal))
                {
                    response.Conversations.Add(new UserConversation
                    {
                        ConversationId = conv.Id,
                        Kind = conv.Kind,
                        PeerUserId = conv.Kind == ConversationKind.Direct ? conv.Roles.Keys.First(k => k != r.UserId) : "",
                    });
                }

                return response;
            case GetReceiptPrivacyRequest r:
                return new GetReceiptPrivacyResponse { HiddenUserIds = { r.UserIds.Where(_hidesReceipts.Contains) } };
            case GetPresenceRulesRequest r:
                var rules = new GetPresenceRulesResponse { ViewerLastSeen = _lastSeen.GetValueOrDefault(r.ViewerId) };
                rules.Rules.AddRange(r.UserIds.Select(u => new PresenceRule { UserId = u, LastSeen = _lastSeen.GetValueOrDefault(u), IsContact = AreContacts(r.ViewerId, u) }));
                return rules;
            case GetMemberRoleRequest r:
                return new GetMemberRoleResponse
                {
                    Role = _conversations.TryGetValue(r.ConversationId, out var g) ? g.Roles.GetValueOrDefault(r.UserId) : GroupRole.Unspecified,
                };
            default:
                throw new RpcException(new Status(StatusCode.Unimplemented, $"FakeDirectory does not answer {method}"));
        }
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        lock (_calls)
        {
            _calls[method.Name] = _calls.GetValueOrDefault(method.Name) + 1;
        }

        var answer = Task.FromResult((TResponse)Answer(method.Name, (IMessage)request));
        return new AsyncUnaryCall<TResponse>(answer, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        AsyncUnaryCall(method, host, options, request).ResponseAsync.GetAwaiter().GetResult();

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, "DirectoryInternalService has no streaming methods"));

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, "DirectoryInternalService has no streaming methods"));

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, "DirectoryInternalService has no streaming methods"));

    private sealed record Conversation(string Id, ConversationKind Kind, string Title, Dictionary<string, GroupRole> Roles)
    {
        public ulong Version { get; set; } = 1;
    }
}
