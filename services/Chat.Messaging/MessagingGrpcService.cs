using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Core;
using Chat.ServiceDefaults.Auth;
using Dapr.Client;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Chat.Messaging;

/// <summary>
/// The chat.v1 MessagingService. Every call acts for the user in the caller's access token;
/// membership comes from directory (over Dapr gRPC proxying), ordering and dedup from the
/// conversation's actor in router, which also checks a sender's membership itself (<see cref="MessageSender"/>).
/// </summary>
public sealed partial class MessagingGrpcService(
    MessageStore store,
    Membership membership,
    MessageSender sender,
    DaprClient dapr,
    ReceiptPrivacy privacy,
    TimeProvider time,
    MessageLifecycle lifecycle,
    MediaService media) : MessagingService.MessagingServiceBase
{
    /// <summary>The same send as the gateway's hub: one call to the conversation's actor, which checks membership itself.</summary>
    public override Task<SendMessageResponse> SendMessage(SendMessageRequest request, ServerCallContext context) =>
        sender.SendAsync(context.GetChatUser(), request, SenderConnection(context), context.CancellationToken);

    public override async Task<GetHistoryResponse> GetHistory(GetHistoryRequest request, ServerCallContext context)
    {
        var user = context.GetChatUser();
        Check(ChatValidation.ConversationId(request.ConversationId));
        Check(ChatValidation.Limit(request.Limit, ChatLimits.MaxHistoryPage));
        if (request.BeforeSeq != 0 && request.AfterSeq != 0)
        {
            throw ChatStatus.Create(StatusCode.InvalidArgument, ErrorCodes.InvalidArgument, "Set before_seq or after_seq, not both.");
        }

        await membership.RequireMemberAsync(request.ConversationId, user.UserId, context.CancellationToken);
        var limit = request.Limit == 0 ? (ulong)ChatLimits.DefaultHistoryPage : request.Limit;
        var lastSeq = (await store.GetMetaAsync(request.ConversationId, context.CancellationToken))?.LastSeq ?? 0;
        var response = new GetHistoryResponse { LastSeq = lastSeq };
        if (request.AfterSeq != 0)
        {
            var from = request.AfterSeq + 1;
            var to = Math.Min(lastSeq, request.AfterSeq + limit);
            response.Messages.AddRange(await media.SignAllAsync((await store.GetRangeAsync(request.ConversationId, from, to, context.CancellationToken)).Select(m => m.ToContract(user.UserId)), context.CancellationToken));
            response.HasMore = to < lastSeq;
        }
        else
        {
            var upper = request.BeforeSeq == 0 ? lastSeq : Math.Min(lastSeq, request.BeforeSeq - 1);
            var lower = upper >= limit ? upper - limit + 1 : 1;
            var page = await store.GetRangeAsync(request.ConversationId, lower, upper, context.CancellationToken);
            response.Messages.AddRange(await media.SignAllAsync(page.OrderByDescending(m => m.Seq).Select(m => m.ToContract(user.UserId)), context.CancellationToken));
            response.HasMore = lower > 1;
        }

        return response;
    }

    public override async Task<SyncResponse> Sync(SyncRequest request, ServerCallContext context)
    {
        var user = context.GetChatUser();
        Check(ChatValidation.Limit(request.Limit, ChatLimits.MaxSyncLimit));
        var budget = request.Limit == 0 ? (ulong)ChatLimits.DefaultSyncLimit : request.Limit;
        var known = new Dictionary<string, SyncCursor>(StringComparer.Ordinal);
        foreach (var cursor in request.Cursors)
        {
            Check(ChatValidation.ConversationId(cursor.ConversationId));
            known[cursor.ConversationId] = cursor;
        }

        // A little before now: a cursor stamped before this point but written after the reads
        // below is then still "since" next time (receipts are idempotent, repeats are harmless).
        var syncedAt = time.GetUtcNow() - ReceiptsMargin;
        var receiptsSince = request.ReceiptsSince?.ToDateTimeOffset();
        var mine = await membership.UserConversationsAsync(user.UserId, context.CancellationToken);
        var metas = await store.GetMetasAsync(mine.Select(c => c.ConversationId).ToList(), context.CancellationToken);
        var response = new SyncResponse { SyncedAt = Timestamp.FromDateTimeOffset(syncedAt) };
        var unchanged = new List<(UserConversation Conversation, ulong Epoch, ulong LastSeq)>();

        // Groups the client holds that the caller no longer belongs to (left or removed). Only
        // groups: nobody leaves a direct conversation, and one the caller is not in stays unmentioned.
        var current = mine.Select(c => c.ConversationId).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in known.Keys.Where(id => !current.Contains(id) && id.StartsWith(Chat.Domain.ConversationId.GroupPrefix, StringComparison.Ordinal)))
        {
            response.Deltas.Add(new ConversationDelta { ConversationId = gone, Kind = ConversationKind.Group, Removed = true });
        }

        foreach (var conversation in mine)
        {
            var meta = metas.GetValueOrDefault(conversation.ConversationId);
            var lastSeq = meta?.LastSeq ?? 0;
            var epoch = meta?.Epoch ?? 0;
            known.TryGetValue(conversation.ConversationId, out var cursor);
            var isNew = cursor is null;
            var from = (cursor?.LastSeq ?? 0) + 1;
            var gap = SyncGapReason.Unspecified;
            if (cursor is not null && cursor.Epoch != 0 && epoch != 0 && cursor.Epoch != epoch)
            {
                gap = SyncGapReason.Reset;
                from = 1;
            }
            else if (cursor is not null && cursor.LastSeq > lastSeq)
            {
                response.Deltas.Add(new ConversationDelta
                {
                    ConversationId = conversation.ConversationId, Kind = conversation.Kind, Epoch = epoch, LastSeq = lastSeq,
                    Gap = SyncGapReason.CursorAhead, GapFromSeq = lastSeq + 1,
                });
                continue;
            }

            if (!isNew && gap == SyncGapReason.Unspecified && from > lastSeq)
            {
                // No new messages: only receipts that moved since the last sync, if asked.
                if (receiptsSince is not null)
                {
                    unchanged.Add((conversation, epoch, lastSeq));
                }

                continue;
            }

            var delta = new ConversationDelta { ConversationId = conversation.ConversationId, Kind = conversation.Kind, Epoch = epoch, LastSeq = lastSeq, Gap = gap };
            var to = Math.Min(lastSeq, from + budget - 1);
            if (budget > 0 && from <= lastSeq)
            {
                var messages = await store.GetRangeAsync(conversation.ConversationId, from, to, context.CancellationToken);
                delta.Messages.AddRange(await media.SignAllAsync(messages.Select(m => m.ToContract(user.UserId)), context.CancellationToken));
                budget -= to - from + 1;
            }
            else
            {
                to = from - 1;
            }

            if (to < lastSeq)
            {
                delta.HasMore = true;
                response.HasMore = true;
                if (delta.Gap == SyncGapReason.Unspecified)
                {
                    delta.Gap = SyncGapReason.Limit;
                }

                delta.GapFromSeq = to + 1;
            }

            var (_, members) = await membership.GetMembersAsync(conversation.ConversationId, context.CancellationToken);
            var cursors = await store.GetCursorsAsync(conversation.ConversationId, members, context.CancellationToken);
            var hidden = await privacy.HiddenAsync(members, context.CancellationToken);
            delta.Receipts.AddRange(ReceiptPrivacy.Visible(members.Select(m => cursors.GetValueOrDefault(m).ToContract(m)), user.UserId, hidden));
            response.Deltas.Add(delta);
        }

        if (receiptsSince is { } since)
        {
            await AddMovedReceiptsAsync(response, user.UserId, unchanged, since, context.CancellationToken);
        }

        return response;
    }

    private static readonly TimeSpan ReceiptsMargin = TimeSpan.FromSeconds(10);

    // Deltas without messages for conversations whose members' cursors moved since the client's last sync.
    private async Task AddMovedReceiptsAsync(SyncResponse response, string viewerId, List<(UserConversation Conversation, ulong Epoch, ulong LastSeq)> unchanged, DateTimeOffset since, CancellationToken ct)
    {
        var found = new ConversationDelta?[unchanged.Count];
        await Parallel.ForAsync(0, unchanged.Count, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (i, token) =>
        {
            var (conversation, epoch, lastSeq) = unchanged[i];
            var (_, members) = await membership.GetMembersAsync(conversation.ConversationId, token);
            var cursors = await store.GetCursorsAsync(conversation.ConversationId, members, token);
            var moved = cursors.Where(c => c.Value.UpdatedAt >= since).Select(c => c.Value.ToContract(c.Key)).ToList();
            if (moved.Count > 0)
            {
                // Read cursors hidden by privacy as everywhere else (one cached directory call at most).
                moved = ReceiptPrivacy.Visible(moved, viewerId, await privacy.HiddenAsync(members, token)).ToList();
                found[i] = new ConversationDelta
                {
                    ConversationId = conversation.ConversationId, Kind = conversation.Kind, Epoch = epoch, LastSeq = lastSeq, Receipts = { moved },
                };
            }
        });
        response.Deltas.AddRange(found.OfType<ConversationDelta>());
    }

    public override async Task<UpdateReceiptResponse> UpdateReceipt(UpdateReceiptRequest request, ServerCallContext context)
    {
        var user = context.GetChatUser();
        Check(ChatValidation.ConversationId(request.ConversationId));
        if (request.Kind is not (ReceiptKind.Delivered or ReceiptKind.Read))
        {
            throw ChatStatus.Create(StatusCode.InvalidArgument, ErrorCodes.InvalidArgument, "kind must be RECEIPT_KIND_DELIVERED or RECEIPT_KIND_READ.");
        }

        var (_, members) = await membership.RequireMemberAsync(request.ConversationId, user.UserId, context.CancellationToken);
        var lastSeq = (await store.GetMetaAsync(request.ConversationId, context.CancellationToken))?.LastSeq ?? 0;
        if (request.UpToSeq == 0 || request.UpToSeq > lastSeq)
        {
            throw ChatStatus.Create(StatusCode.InvalidArgument, ErrorCodes.InvalidArgument, $"up_to_seq must be between 1 and the conversation's last seq ({lastSeq}); got {request.UpToSeq}.");
        }

        var read = request.Kind == ReceiptKind.Read ? request.UpToSeq : 0;
        var (cursor, changed) = await store.AdvanceCursorAsync(request.ConversationId, user.UserId, request.UpToSeq, read, context.CancellationToken);
        if (changed)
        {
            IReadOnlyList<string> audience = members;
            if (request.Kind == ReceiptKind.Read)
            {
                // Read receipts follow privacy; whoever may not see the read cursor still sees delivery.
                audience = ReceiptPrivacy.ReadAudience(members, user.UserId, await privacy.HiddenAsync(members, context.CancellationToken));
                var deliveredOnly = members.Except(audience, StringComparer.Ordinal).ToList();
                if (deliveredOnly.Count > 0)
                {
                    await PublishReceiptAsync(request.ConversationId, user.UserId, ReceiptKind.Delivered, cursor.DeliveredSeq, deliveredOnly, context.CancellationToken);
                }
            }

            await PublishReceiptAsync(request.ConversationId, user.UserId, request.Kind,
                request.Kind == ReceiptKind.Read ? cursor.ReadSeq : cursor.DeliveredSeq, audience, context.CancellationToken);
        }

        return new UpdateReceiptResponse { Cursor = cursor.ToContract(user.UserId), Changed = changed };
    }

    public override async Task<GetReceiptsResponse> GetReceipts(GetReceiptsRequest request, ServerCallContext context)
    {
        var user = context.GetChatUser();
        Check(ChatValidation.ConversationId(request.ConversationId));
        var (_, members) = await membership.RequireMemberAsync(request.ConversationId, user.UserId, context.CancellationToken);
        var cursors = await store.GetCursorsAsync(request.ConversationId, members, context.CancellationToken);
        var hidden = await privacy.HiddenAsync(members, context.CancellationToken);
        var response = new GetReceiptsResponse { LastSeq = (await store.GetMetaAsync(request.ConversationId, context.CancellationToken))?.LastSeq ?? 0 };
        response.Cursors.AddRange(ReceiptPrivacy.Visible(members.Select(m => cursors.GetValueOrDefault(m).ToContract(m)), user.UserId, hidden));
        return response;
    }

    public override async Task<ListConversationsResponse> ListConversations(ListConversationsRequest request, ServerCallContext context)
    {
        var user = context.GetChatUser();
        Check(ChatValidation.Limit(request.Limit, ChatLimits.MaxHistoryPage));
        var limit = request.Limit == 0 ? ChatLimits.DefaultHistoryPage : (int)request.Limit;
        var offset = 0;
        if (!string.IsNullOrEmpty(request.PageToken) && (!int.TryParse(request.PageToken, out offset) || offset < 0))
        {
            throw ChatStatus.Create(StatusCode.InvalidArgument, ErrorCodes.InvalidArgument, "page_token is not one this server issued.");
        }

        var mine = await membership.UserConversationsAsync(user.UserId, context.CancellationToken);
        var metas = await store.GetMetasAsync(mine.Select(c => c.ConversationId).ToList(), context.CancellationToken);
        var ordered = mine
            .Select(c => (Conversation: c, Meta: metas.GetValueOrDefault(c.ConversationId)))
            .OrderByDescending(x => x.Meta?.LastMessageAt ?? x.Conversation.JoinedAt?.ToDateTimeOffset() ?? DateTimeOffset.MinValue)
            .ToList();
        var response = new ListConversationsResponse();
        foreach (var (conversation, meta) in ordered.Skip(offset).Take(limit))
        {
            var myCursor = (await store.GetCursorsAsync(conversation.ConversationId, [user.UserId], context.CancellationToken)).GetValueOrDefault(user.UserId);
            var (kind, members, title) = await membership.GetConversationAsync(conversation.ConversationId, context.CancellationToken);
            var readSeq = myCursor?.ReadSeq ?? 0;
            // Edits, deletes and reactions are not unread messages; the entry at the read seq says how many precede it.
            var atRead = meta?.NeedsEntryForUnread(readSeq) == true ? await store.GetMessageAsync(conversation.ConversationId, readSeq, context.CancellationToken) : null;
            var summary = new ConversationSummary
            {
                ConversationId = conversation.ConversationId,
                Kind = kind,
                Title = title,
                PeerUserId = conversation.PeerUserId,
                UnreadCount = meta?.Unread(readSeq, atRead) ?? 0,
                MyCursor = myCursor.ToContract(user.UserId),
                MemberCount = (uint)members.Count,
                UpdatedAt = meta?.LastMessageAt is { } at ? Timestamp.FromDateTimeOffset(at) : conversation.JoinedAt,
            };
            if (meta is { LastSeq: > 0 } && await store.GetMessageAsync(conversation.ConversationId, meta.LastSeq, context.CancellationToken) is { } last)
            {
                summary.LastMessage = last.ToContract();
            }

            response.Conversations.Add(summary);
        }

        if (offset + limit < ordered.Count)
        {
            response.NextPageToken = (offset + limit).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return response;
    }

    // Set by the gateway; anything that does not look like a connection id is ignored (the
    // connection then also gets its own message live, which clients absorb by msg_id).
    private static string SenderConnection(ServerCallContext context) =>
        context.RequestHeaders.GetValue(ChatHeaders.ConnectionId) is { Length: > 0 and <= ChatHeaders.MaxConnectionIdLength } id
            && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? id
            : "";

    private Task PublishReceiptAsync(string conversationId, string userId, ReceiptKind kind, ulong upToSeq, IEnumerable<string> audience, CancellationToken ct)
    {
        var evt = new ReceiptUpdated
        {
            ConversationId = conversationId,
            UserId = userId,
            Kind = kind,
            UpToSeq = upToSeq,
            At = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        evt.MemberIds.AddRange(audience);
        return dapr.PublishProtoAsync(DaprNames.PubSub, DaprNames.Topics.ReceiptUpdated, evt, ct);
    }

    private static void Check(ValidationError? error)
    {
        if (error is not null)
        {
            throw ChatStatus.From(error);
        }
    }
}
