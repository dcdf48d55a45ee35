using Chat.Contracts.V1;
using Chat.Core;
using Chat.ServiceDefaults.Auth;
using Grpc.Core;

namespace Chat.Messaging;

/// <summary>EditMessage, DeleteMessage and React: members only; the rules are in <see cref="MessageLifecycle"/> and <see cref="Lifecycle.Check"/>.</summary>
public sealed partial class MessagingGrpcService
{
    public override async Task<EditMessageResponse> EditMessage(EditMessageRequest request, ServerCallContext context)
    {
        var result = await ApplyAsync(context, request.ConversationId, request.TargetSeq, request.ClientMsgId, MessageKind.Edit, request.Text);
        return new EditMessageResponse { Entry = result.Entry!.ToContract(), Duplicate = result.Duplicate };
    }

    public override async Task<DeleteMessageResponse> DeleteMessage(DeleteMessageRequest request, ServerCallContext context)
    {
        var result = await ApplyAsync(context, request.ConversationId, request.TargetSeq, request.ClientMsgId, MessageKind.Delete, "");
        return new DeleteMessageResponse { Entry = result.Entry!.ToContract(), Duplicate = result.Duplicate };
    }

    public override async Task<ReactResponse> React(ReactRequest request, ServerCallContext context)
    {
        var result = await ApplyAsync(context, request.ConversationId, request.TargetSeq, request.ClientMsgId, MessageKind.Reaction, request.Emoji);
        return new ReactResponse { Entry = result.Entry!.ToContract(), Duplicate = result.Duplicate };
    }

    public override Task<CreateUploadResponse> CreateUpload(CreateUploadRequest request, ServerCallContext context) =>
        media.CreateUploadAsync(context.GetChatUser(), request, context.CancellationToken);

    private Task<LifecycleResult> ApplyAsync(ServerCallContext context, string conversationId, ulong targetSeq, string clientMsgId, MessageKind kind, string text) =>
        lifecycle.ApplyAsync(context.GetChatUser(), conversationId, targetSeq, clientMsgId, kind, text, SenderConnection(context), context.CancellationToken);
}
