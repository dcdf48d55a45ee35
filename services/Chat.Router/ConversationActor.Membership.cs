using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Dapr.Client;
using Grpc.Core;

namespace Chat.Router;

/// <summary>
/// Who may send here, decided by the actor itself so that every caller (the gateway's hub,
/// messaging's gRPC SendMessage) gets the same checks without passing a member list.
/// A direct conversation's members follow from its id; that it exists is asked of directory once
/// per activation (and it is created there when the sender names the peer and it is new).
/// A group's members are held: loaded from directory on first need, replaced by directory's push
/// (<see cref="SetMembersAsync"/>) before a membership change returns, newer version wins, and
/// asked again after <see cref="GroupMembersMaxAge"/> without a push, which bounds the damage of a
/// push that failed (directory then fails the change so the client retries it too).
/// </summary>
public sealed partial class ConversationActor
{
    /// <summary>How long held group members are trusted without a push before directory is asked again.</summary>
    public static readonly TimeSpan GroupMembersMaxAge = TimeSpan.FromMinutes(1);

    private bool _directConfirmed;
    private ConversationMembers? _group;
    private HashSet<string> _groupMembers = new(StringComparer.Ordinal);
    private DateTimeOffset _groupConfirmedAt;

    public Task SetMembersAsync(ConversationMembers members)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (ConversationId.StartsWith(Chat.Domain.ConversationId.GroupPrefix, StringComparison.Ordinal))
        {
            HoldGroup(members);
        }

        return Task.CompletedTask;
    }

    private void HoldGroup(ConversationMembers members)
    {
        if (_group is not null && members.Version < _group.Version)
        {
            return;
        }

        if (_group is null || members.Version > _group.Version)
        {
            _group = members with { MemberIds = [.. members.MemberIds.Distinct(StringComparer.Ordinal)] };
            _groupMembers = new HashSet<string>(_group.MemberIds, StringComparer.Ordinal);
        }

        _groupConfirmedAt = time.GetUtcNow();
    }

    /// <summary>
    /// The request as it will be stored (its attachment resolved) and who gets it, or the rule it
    /// breaks: input, attachment, membership, reply target, in the order messaging checked them.
    /// </summary>
    private async Task<(AppendMessageRequest Request, IReadOnlyList<string>? Members, ValidationError? Refused)> CheckSendAsync(AppendMessageRequest request)
    {
        if (ChatValidation.ClientMsgId(request.ClientMsgId) is { } badId)
        {
            return (request, null, badId);
        }

        var attachment = request.Attachment;
        if (request.MediaId.Length > 0)
        {
            (attachment, var badMedia) = await ResolveUploadAsync(request.SenderId, request.MediaId);
            if (badMedia is not null)
            {
                return (request, null, badMedia);
            }
        }

        if (ChatValidation.Content(request.Text, attachment?.Uri, attachment?.ContentType, attachment?.FileName) is { } badContent)
        {
            return (request, null, badContent);
        }

        var (members, notMember) = await MembersForAsync(request.SenderId, request.CreateDirect);
        if (notMember is not null)
        {
            return (request, null, notMember);
        }

        if (request.ReplyToSeq != 0
            && (!await IsAppendedAsync(request.ReplyToSeq) || await ReadMessageAsync(request.ReplyToSeq) is not { EntryKind: 0, Deleted: false }))
        {
            return (request, null, new ValidationError(ErrorCodes.InvalidReplyTo,
                $"reply_to_seq {request.ReplyToSeq} is not a message of this conversation (or it was deleted)."));
        }

        return (request with { Attachment = attachment, MediaId = "", CreateDirect = false }, members, null);
    }

    /// <summary>The stored form of an attachment naming a media id (CreateUpload's record), or the refusal: it must be an upload of the sender's.</summary>
    private async Task<(StoredAttachment? Attachment, ValidationError? Refused)> ResolveUploadAsync(string senderId, string mediaId)
    {
        var record = mediaId.Length is > 0 and <= 64 && mediaId.All(char.IsAsciiHexDigitLower)
            ? await dapr.GetStateAsync<MediaRecord?>(DaprNames.StateStores.Messages, MessageKeys.Media(mediaId))
            : null;
        if (record is null || record.OwnerId != senderId)
        {
            return (null, new ValidationError(ErrorCodes.InvalidMedia, $"media_id '{(mediaId.Length > 64 ? mediaId[..64] : mediaId)}' is not an upload of yours (CreateUpload first)."));
        }

        return (new StoredAttachment(MediaUploads.UriPrefix + record.MediaId, record.ContentType, record.SizeBytes, record.FileName), null);
    }

    /// <summary>The members if <paramref name="senderId"/> is one; otherwise not_member (the same whether the conversation exists or not).</summary>
    private async Task<(IReadOnlyList<string>? Members, ValidationError? Refused)> MembersForAsync(string senderId, bool createDirect)
    {
        // Built only on a refusal: the common send is a member's.
        ValidationError NotMember() => new(ErrorCodes.NotMember, $"You are not a member of {ConversationId}.", ValidationKind.PermissionDenied);
        if (!Chat.Domain.ConversationId.TryParse(ConversationId, out var id))
        {
            return (null, NotMember());
        }

        if (id.Type == ConversationType.Direct)
        {
            var (a, b) = id.DirectMembers();
            if (senderId != a && senderId != b)
            {
                return (null, NotMember());
            }

            if (!_directConfirmed)
            {
                if (createDirect)
                {
                    try
                    {
                        // Checks that the peer exists and writes both users' indexes, only when new.
                        await directory.EnsureDirectConversationAsync(new EnsureDirectConversationRequest { UserId = senderId, PeerUserId = id.PeerOf(senderId) });
                    }
                    catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument)
                    {
                        return (null, new ValidationError(ex.ErrorCode() ?? ErrorCodes.NotFound, ex.Status.Detail,
                            ex.StatusCode == StatusCode.NotFound ? ValidationKind.NotFound : ValidationKind.InvalidArgument));
                    }
                }
                else if (!(await directory.GetMembersAsync(new GetMembersRequest { ConversationId = ConversationId })).Exists)
                {
                    return (null, NotMember());
                }

                _directConfirmed = true;
            }

            return ([a, b], null);
        }

        if (_group is null || time.GetUtcNow() - _groupConfirmedAt > GroupMembersMaxAge)
        {
            var found = await directory.GetMembersAsync(new GetMembersRequest { ConversationId = ConversationId });
            if (!found.Exists)
            {
                return (null, NotMember());
            }

            HoldGroup(new ConversationMembers(found.Version, [.. found.MemberIds]));
        }

        return _groupMembers.Contains(senderId) ? (_group!.MemberIds, null) : (null, NotMember());
    }
}
