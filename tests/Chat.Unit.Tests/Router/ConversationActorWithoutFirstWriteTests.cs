using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.Unit.Tests.Fakes;

namespace Chat.Unit.Tests.Router;

/// <summary>
/// The conversation actor on a messages store that cannot refuse a second write (no ETags, as
/// Cassandra): seqs are taken through the head in the actor store, so even two live activations
/// of one conversation never write one seq twice.
/// </summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class ConversationActorWithoutFirstWriteTests
{
    private static readonly string Dm = ConversationId.Direct("ann", "carl").Value;

    private static AppendMessageRequest Send(string clientMsgId, string text) =>
        new("ann", "d1", clientMsgId, text, null, 0, false, "conn-1");

    [Fact]
    public async Task The_fake_store_really_overwrites_so_the_head_is_what_protects_a_seq()
    {
        await using var router = await RouterHarness.StartAsync(transactional: false, etags: false);

        await router.Dapr.SaveStateAsync(DaprNames.StateStores.Messages, "k", 1, new Dapr.Client.StateOptions { Concurrency = Dapr.Client.ConcurrencyMode.FirstWrite });
        await router.Dapr.SaveStateAsync(DaprNames.StateStores.Messages, "k", 2, new Dapr.Client.StateOptions { Concurrency = Dapr.Client.ConcurrencyMode.FirstWrite });

        Assert.Equal(2, await router.Dapr.GetStateAsync<int>(DaprNames.StateStores.Messages, "k"));
    }

    [Fact]
    public async Task Appends_get_consecutive_seqs_and_repeats_are_found()
    {
        await using var router = await RouterHarness.StartAsync(transactional: false, etags: false);
        var actor = await router.ActivateAsync(Dm);

        var first = await actor.AppendAsync(Send("client-0001", "one"));
        var second = await actor.AppendAsync(Send("client-0002", "two"));
        var again = await actor.AppendAsync(Send("client-0001", "one"));

        Assert.Equal([1ul, 2ul], new[] { first.Message.Seq, second.Message.Seq });
        Assert.True(again.Duplicate);
        Assert.Equal(first.Message.MsgId, again.Message.MsgId);
        Assert.Equal(2ul, (await router.MetaAsync(Dm))!.LastSeq);
    }

    [Fact]
    public async Task Two_live_activations_never_write_one_seq_twice()
    {
        await using var router = await RouterHarness.StartAsync(transactional: false, etags: false);
        var a = await router.ActivateAsync(Dm);
        var b = await router.ActivateAsync(Dm); // a placement change: the old activation still runs

        var results = new List<AppendMessageResult>
        {
            await a.AppendAsync(Send("client-0001", "from a, 1")),
            await b.AppendAsync(Send("client-0002", "from b, 1")),
            await a.AppendAsync(Send("client-0003", "from a, 2")),
            await b.AppendAsync(Send("client-0004", "from b, 2")),
        };

        Assert.Equal(4, results.Select(r => r.Message.Seq).Distinct().Count());
        foreach (var r in results)
        {
            var stored = await router.StoredAsync(Dm, r.Message.Seq);
            Assert.Equal((r.Message.MsgId, r.Message.Text), (stored!.MsgId, stored.Text)); // acknowledged and still there
        }

        var published = router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated).Select(e => e.Message.MsgId).Distinct();
        Assert.Equal(results.Select(r => r.Message.MsgId).Order(), published.Order());
    }
}
