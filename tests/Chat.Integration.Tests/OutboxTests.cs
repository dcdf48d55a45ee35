using System.Collections.Concurrent;
using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Chat.Router;
using Dapr;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Integration.Tests;

/// <summary>Issue 5: a stored message is always published as MessageCreated, even if the router dies before publishing.</summary>
[Trait("Area", "Conversations")]
public sealed class OutboxTests
{
    [Fact]
    public async Task A_router_killed_between_save_and_publish_still_leads_to_MessageCreated()
    {
        await using var system = await ChatHarness.InProcessAsync(new());
        var published = new ConcurrentQueue<MessageCreated>();
        await system.StartAppAsync("test-subscriber", add: _ => { }, map: app =>
        {
            app.UseCloudEvents();
            app.MapSubscribeHandler();
            app.MapPost("/message-created", async (HttpRequest request) =>
            {
                published.Enqueue(await ProtoPubSub.ReadProtoAsync<MessageCreated>(request.Body, request.ContentType, request.HttpContext.RequestAborted));
                return Results.Ok();
            }).WithTopic(DaprNames.PubSub, DaprNames.Topics.MessageCreated);
        });

        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var dm = (await alice.SendToPeerAsync(bob, "normal")).Message.ConversationId;
        await Wait.UntilAsync(() => published.Any(m => m.Message.Content.Text == "normal"), "the normal message to be published", TimeSpan.FromSeconds(10));

        // The router "dies" right after storing the next message, before it publishes it.
        var router = system.InstanceOf(DaprNames.Apps.Router);
        router.App.Services.GetRequiredService<RouterFaults>().AfterSaveBeforePublish = _ => throw new InvalidOperationException("simulated crash after save");
        var failed = await Assert.ThrowsAsync<RpcException>(() => alice.SendAsync(dm, "stored, not yet published"));
        Assert.Equal(StatusCode.Unavailable, failed.StatusCode);
        await system.KillAsync(router);
        Assert.DoesNotContain(published, m => m.Message.Content.Text == "stored, not yet published");

        // A fresh router picks the conversation up through its outbox reminder and publishes.
        await system.StartAppAsync(DaprNames.Apps.Router);
        await Wait.UntilAsync(() => published.Any(m => m.Message.Content.Text == "stored, not yet published"), "the stored message to be published after the crash", TimeSpan.FromSeconds(30));
        var message = published.First(m => m.Message.Content.Text == "stored, not yet published").Message;
        Assert.Equal(2ul, message.Seq);

        // The retry of the failed send finds the stored message instead of storing a second copy.
        var history = await bob.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = dm });
        Assert.Equal(2ul, history.LastSeq);
        var retry = await alice.Messaging.SendMessageAsync(new SendMessageRequest
        {
            ConversationId = dm,
            ClientMsgId = message.ClientMsgId,
            Content = new MessageContent { Text = "stored, not yet published" },
        });
        Assert.True(retry.Duplicate);
        Assert.Equal(message.MsgId, retry.Message.MsgId);
    }
}
