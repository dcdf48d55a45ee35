using Chat.Contracts.V1;
using Chat.Core.Routing;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Dapr;
using Dapr.Actors;
using Dapr.Actors.Client;
using Grpc.Core;

namespace Chat.Core;

/// <summary>
/// The send path, shared by the gateway's hub and messaging's gRPC SendMessage: one actor call to
/// the conversation's actor, which checks the input, the attachment, membership and the reply target
/// itself and stores the message. Here only what names the actor is checked (client_msg_id, target),
/// so malformed requests cost no hop. Failures are coded RpcExceptions, as every service answers.
/// </summary>
public sealed class MessageSender(IActorProxyFactory actors, MediaSigner media, ILocalDelivery? local = null)
{
    /// <summary>Sends for <paramref name="user"/>; <paramref name="senderConnectionId"/> is left out of the live delivery (it has the ack).</summary>
    public async Task<SendMessageResponse> SendAsync(ChatUser user, SendMessageRequest request, string senderConnectionId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(request);
        ChatStatus.ThrowIfInvalid(ChatValidation.ClientMsgId(request.ClientMsgId));
        string conversationId;
        switch (request.TargetCase)
        {
            case SendMessageRequest.TargetOneofCase.PeerUserId:
                ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.PeerUserId, "peer_user_id"));
                if (request.PeerUserId == user.UserId)
                {
                    throw ChatStatus.Create(StatusCode.InvalidArgument, ErrorCodes.InvalidArgument, "You cannot start a direct conversation with yourself.");
                }

                conversationId = ConversationId.Direct(user.UserId, request.PeerUserId).Value;
                break;
            case SendMessageRequest.TargetOneofCase.ConversationId:
                ChatStatus.ThrowIfInvalid(ChatValidation.ConversationId(request.ConversationId));
                conversationId = request.ConversationId;
                break;
            default:
                throw ChatStatus.Create(StatusCode.InvalidArgument, ErrorCodes.InvalidArgument, "Set conversation_id or peer_user_id.");
        }

        var content = request.Content ?? new MessageContent();
        var mediaId = content.Attachment?.MediaId ?? "";
        var append = new AppendMessageRequest(user.UserId, user.DeviceId, request.ClientMsgId, content.Text, mediaId.Length > 0 ? null : content.Attachment.ToStored(),
            content.ReplyToSeq, content.Opaque, senderConnectionId)
        {
            MediaId = mediaId,
            CreateDirect = request.TargetCase == SendMessageRequest.TargetOneofCase.PeerUserId,
            GatewayInstanceId = local?.GatewayInstanceId ?? "",
        };

        AppendMessageResult result;
        try
        {
            var proxy = actors.Create(new ActorId(conversationId), DaprNames.Actors.Conversation);
            result = await proxy.InvokeMethodAsync<AppendMessageRequest, AppendMessageResult>(ConversationActorMethods.Append, append, ct);
        }
        catch (Exception ex) when (ActorCallFailure.IsFailure(ex) && !ct.IsCancellationRequested)
        {
            // The actor or the sidecar failed (not a refusal: those are answers): retry with the same client_msg_id.
            throw new RpcException(new Status(StatusCode.Unavailable, "The conversation is briefly unavailable; retry with the same client_msg_id.", ex));
        }

        ChatStatus.ThrowIfInvalid(result.Refused);
        if (local is not null && result.LocalRecipients.Count > 0)
        {
            // Before the ack, as the actor's publish would have been.
            var delivery = FanOut.LiveDelivery(FanOut.Created(result.Message, senderConnectionId));
            delivery.UserIds.AddRange(result.LocalRecipients);
            await local.DeliverAsync(delivery);
        }

        return new SendMessageResponse { Message = media.Sign(result.Message.ToContract()), Duplicate = result.Duplicate };
    }
}

/// <summary>
/// A gateway's own delivery to its connections. The conversation's actor leaves a send's members
/// connected to the sender's gateway to it: no pub/sub hop for them.
/// </summary>
public interface ILocalDelivery
{
    /// <summary>This gateway instance (its topic is <c>deliveries.{id}</c>).</summary>
    string GatewayInstanceId { get; }

    /// <summary>Pushes <paramref name="delivery"/> to its users' connections here, as a delivery batch from the topic would be.</summary>
    Task DeliverAsync(Delivery delivery);
}
