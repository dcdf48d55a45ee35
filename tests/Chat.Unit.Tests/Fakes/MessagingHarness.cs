using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.Messaging;
using Chat.Router;
using Dapr.Actors.Client;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Chat.Unit.Tests.Fakes;

/// <summary>
/// Messaging's gRPC service over a fake sidecar and a fake directory; messages are written by the
/// router's real conversation actor into the same store, as in the running system.
/// </summary>
public sealed class MessagingHarness : IAsyncDisposable
{
    private readonly Dictionary<string, ConversationActor> _actors = new(StringComparer.Ordinal);
    private int _clientMsgIds;

    private MessagingHarness(RouterHarness router)
    {
        Router = router;
        Calls = new GrpcCalls(Time);
        Store = new MessageStore(Dapr, Time);
        Membership = new Membership(Directory.Client);
        Privacy = new ReceiptPrivacy(Directory.Client, Time, Options.Create(new ReceiptPrivacyOptions()));
        var mediaOptions = new StaticOptionsMonitor<MediaOptions>(new MediaOptions());
        var signer = new MediaSigner(Calls.Tokens, mediaOptions, Time);
        var media = new MediaService(Dapr, Calls.Tokens, mediaOptions, Time, signer);
        // Sync and receipts never reach an actor through a proxy; sends are appended through the actor directly.
        var actors = new ActorProxyFactory();
        Lifecycle = new MessageLifecycle(Membership, actors, new StaticOptionsMonitor<LifecycleOptions>(new LifecycleOptions()));
        Service = new MessagingGrpcService(Store, Membership, new MessageSender(actors, signer), Dapr, Privacy, Time, Lifecycle, media);
    }

    public RouterHarness Router { get; }

    public FakeTimeProvider Time => Router.Time;

    public FakeDaprClient Dapr => Router.Dapr;

    /// <summary>Directory, shared with the router's actors as in the running system.</summary>
    public FakeDirectory Directory => Router.Directory;

    public GrpcCalls Calls { get; }

    public MessageStore Store { get; }

    public Membership Membership { get; }

    public ReceiptPrivacy Privacy { get; }

    public MessageLifecycle Lifecycle { get; }

    public MessagingGrpcService Service { get; }

    /// <summary>The conversation's actor (activated on first use), to append entries as the router would.</summary>
    public async Task<ConversationActor> ActorAsync(string conversationId)
    {
        if (!_actors.TryGetValue(conversationId, out var actor))
        {
            _actors[conversationId] = actor = await Router.ActivateAsync(conversationId);
        }

        return actor;
    }

    public static async Task<MessagingHarness> StartAsync() => new(await RouterHarness.StartAsync(directory: new FakeDirectory()));

    /// <summary>Appends <paramref name="count"/> messages from <paramref name="sender"/> through the conversation's actor.</summary>
    public async Task<IReadOnlyList<StoredMessage>> SendAsync(string conversationId, string sender, int count = 1)
    {
        var actor = await ActorAsync(conversationId);
        var sent = new List<StoredMessage>();
        for (var i = 0; i < count; i++)
        {
            var id = $"client-{++_clientMsgIds:D6}";
            var result = await actor.AppendAsync(new AppendMessageRequest(sender, "d1", id, $"{sender} says {id}", null, 0, false));
            sent.Add(result.Refused is null ? result.Message : throw new InvalidOperationException($"{sender} may not send in {conversationId}: {result.Refused}"));
        }

        return sent;
    }

    public Task<SyncResponse> SyncAsync(string userId, SyncRequest request) =>
        Calls.AsUser(userId, "/chat.v1.MessagingService/Sync", request, Service.Sync);

    public Task<UpdateReceiptResponse> ReceiptAsync(string userId, string conversationId, ReceiptKind kind, ulong upTo) =>
        Calls.AsUser(userId, "/chat.v1.MessagingService/UpdateReceipt",
            new UpdateReceiptRequest { ConversationId = conversationId, Kind = kind, UpToSeq = upTo }, Service.UpdateReceipt);

    public Task<GetReceiptsResponse> ReceiptsAsync(string userId, string conversationId) =>
        Calls.AsUser(userId, "/chat.v1.MessagingService/GetReceipts", new GetReceiptsRequest { ConversationId = conversationId }, Service.GetReceipts);

    public List<ReceiptUpdated> ReceiptEvents() => Dapr.Events<ReceiptUpdated>(DaprNames.Topics.ReceiptUpdated);

    public async ValueTask DisposeAsync()
    {
        Membership.Dispose();
        await Router.DisposeAsync();
    }
}
