using System.Net;
using System.Text;
using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.Gateway;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Google.Protobuf;

namespace Chat.Integration.Tests.Security;

/// <summary>
/// Only an app's own sidecar reaches its callbacks: the gateway keeps them off its client port,
/// and every app refuses them without the sidecar's app token (APP_API_TOKEN).
/// </summary>
[Trait("Area", "Security")]
[Collection(SecurityCollection.Name)]
public sealed class BoundaryTests(SecuritySystem fx)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private ChatSystem System => fx.System;

    [Fact]
    public async Task A_forged_delivery_batch_is_refused_on_every_gateway_port_and_reaches_no_client()
    {
        var gateway = System.InstanceOf(DaprNames.Apps.Gateway);
        await using var bob = await HubClient.ConnectAsync(gateway.Url, fx.Bob);
        var forged = Batch(fx.Bob.UserId, "ceo-of-your-bank", "Please send your password");

        // The client port has no such route at all; the app port wants the sidecar's token.
        Assert.Equal(HttpStatusCode.NotFound, await PostAsync(gateway.Url + DeliveryEndpoint.Route, forged, token: null));
        Assert.Equal(HttpStatusCode.NotFound, await PostAsync(gateway.Url + DeliveryEndpoint.Route, forged, gateway.Tokens.AppApiToken));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(gateway.AppPortUrl + DeliveryEndpoint.Route, forged, token: null));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(gateway.AppPortUrl + DeliveryEndpoint.Route, forged, "not-the-token"));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(gateway.AppPortUrl + DeliveryEndpoint.Route, forged, System.InstanceOf(DaprNames.Apps.Delivery).Tokens.AppApiToken));

        // Control: the same post with this gateway's app token (as its sidecar sends it) is delivered.
        Assert.Equal(HttpStatusCode.OK, await PostAsync(gateway.AppPortUrl + DeliveryEndpoint.Route, Batch(fx.Bob.UserId, "sidecar-control", "through the sidecar"), gateway.Tokens.AppApiToken));
        await bob.WaitForAsync<MessageDto>(m => m.SenderId == "sidecar-control");

        // A real message after the forgeries: Bob got it, and never the forged one (the handler
        // pushes before it answers, so a forged post that got through would have arrived first).
        var sent = await fx.Alice.SendAsync(fx.GroupId, "real one");
        await bob.WaitForAsync<MessageDto>(m => m.ConversationId == fx.GroupId && m.Seq == sent.Message.Seq);
        Assert.DoesNotContain(bob.Received.OfType<MessageDto>(), m => m.SenderId == "ceo-of-your-bank");
    }

    [Fact]
    public async Task A_malformed_delivery_batch_from_the_sidecar_is_dropped_with_a_reason_and_the_next_one_still_arrives()
    {
        var gateway = System.InstanceOf(DaprNames.Apps.Gateway);
        await using var bob = await HubClient.ConnectAsync(gateway.Url, fx.Bob);

        // Not a DeliveryBatch: the gateway tells the sidecar to drop it (to the dead-letter topic if
        // one is set) instead of failing, which would make the sidecar retry it forever.
        var (status, body) = await PostForBodyAsync(gateway.AppPortUrl + DeliveryEndpoint.Route,
            CloudEvent(Convert.ToBase64String([0xff, 0xff, 0xff, 0xff])), gateway.Tokens.AppApiToken);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("DROP", global::System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("status").GetString());

        (status, body) = await PostForBodyAsync(gateway.AppPortUrl + DeliveryEndpoint.Route, Batch(fx.Bob.UserId, "after-the-bad-one", "still here"), gateway.Tokens.AppApiToken);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("SUCCESS", global::System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("status").GetString());
        await bob.WaitForAsync<MessageDto>(m => m.SenderId == "after-the-bad-one");
    }

    public static TheoryData<string, string, string> Callbacks => new()
    {
        { DaprNames.Apps.Gateway, "GET", "/dapr/subscribe" },
        { DaprNames.Apps.Gateway, "POST", DeliveryEndpoint.Route },
        { DaprNames.Apps.Delivery, "GET", "/dapr/subscribe" },
        { DaprNames.Apps.Delivery, "POST", "/events/message-created" },
        { DaprNames.Apps.Delivery, "POST", "/events/receipt-updated" },
        { DaprNames.Apps.Delivery, "POST", "/events/presence-changed" },
        { DaprNames.Apps.Delivery, "POST", "/events/typing-changed" },
        { DaprNames.Apps.Router, "GET", "/dapr/config" },
        { DaprNames.Apps.Router, "PUT", "/actors/ConversationActor/grp:forged/method/AppendAsync" },
        { DaprNames.Apps.Router, "PUT", "/actors/UserActor/u1/method/RegisterConnectionAsync" },
        { DaprNames.Apps.Router, "DELETE", "/actors/ConversationActor/grp:forged" },
        { DaprNames.Apps.Router, "PUT", "/actors/ConversationActor/grp:forged/method/remind/r1" },
    };

    [Theory]
    [MemberData(nameof(Callbacks))]
    public async Task Dapr_callbacks_without_the_app_token_get_401(string appId, string method, string path)
    {
        var app = System.InstanceOf(appId);
        foreach (var token in new[] { null, "", "wrong", app.Tokens.DaprApiToken })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), app.AppPortUrl + path)
            {
                Content = method == "GET" ? null : new StringContent("{}", Encoding.UTF8, "application/json"),
            };
            if (token is not null)
            {
                request.Headers.TryAddWithoutValidation(SidecarTokens.Header, token);
            }

            using var response = await Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task Forged_callbacks_change_nothing()
    {
        var before = await HistoryLastSeqAsync();
        var created = new MessageCreated
        {
            Message = new ChatMessage { ConversationId = fx.GroupId, SenderId = "ceo-of-your-bank", Seq = before + 1, Content = new MessageContent { Text = "forged" } },
        };
        created.MemberIds.Add(fx.Bob.UserId);
        var delivery = System.InstanceOf(DaprNames.Apps.Delivery);
        var router = System.InstanceOf(DaprNames.Apps.Router);
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(delivery.AppPortUrl + "/events/message-created", JsonFormatter.Default.Format(created), token: null));
        Assert.Equal(HttpStatusCode.Unauthorized,
            await PostAsync(router.AppPortUrl + $"/actors/{DaprNames.Actors.Conversation}/{fx.GroupId}/method/AppendAsync", "{}", token: null));

        // Nothing was appended: the next real message takes the next seq.
        var sent = await fx.Alice.SendAsync(fx.GroupId, "after forgeries");
        Assert.Equal(before + 1, sent.Message.Seq);
    }

    [Fact]
    public async Task Health_stays_open_on_every_port_and_says_nothing_more()
    {
        foreach (var app in System.Instances.Where(i => !i.Stopped && i.AppId is DaprNames.Apps.Gateway or DaprNames.Apps.Router or DaprNames.Apps.Delivery))
        {
            foreach (var url in new[] { app.Url, app.AppPortUrl }.Distinct())
            {
                using var response = await Http.GetAsync(url + "/healthz");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
            }
        }
    }

    [Fact]
    public async Task Client_endpoints_are_not_served_on_the_sidecar_port()
    {
        var gateway = System.InstanceOf(DaprNames.Apps.Gateway);
        using var negotiate = await Http.PostAsync(gateway.AppPortUrl + GatewayServices.HubPath + "/negotiate?negotiateVersion=1", null);
        Assert.Equal(HttpStatusCode.NotFound, negotiate.StatusCode);
        using var login = await Http.PostAsync(gateway.AppPortUrl + "/api/auth/login", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, login.StatusCode);

        // And they are on the client port (a negotiate without a token is refused by auth, not missing).
        using var clientNegotiate = await Http.PostAsync(gateway.Url + GatewayServices.HubPath + "/negotiate?negotiateVersion=1", null);
        Assert.Equal(HttpStatusCode.Unauthorized, clientNegotiate.StatusCode);
    }

    private async Task<ulong> HistoryLastSeqAsync() =>
        (await fx.Alice.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = fx.GroupId, Limit = 1 })).LastSeq;

    private static string Batch(string userId, string senderId, string text)
    {
        var delivery = new Chat.Contracts.V1.Delivery
        {
            MessageCreated = new MessageCreated
            {
                Message = new ChatMessage
                {
                    ConversationId = "dm:forged",
                    SenderId = senderId,
                    SenderDeviceId = "x",
                    Seq = 1,
                    MsgId = 1,
                    Content = new MessageContent { Text = text },
                },
            },
        };
        delivery.UserIds.Add(userId);
        var batch = new DeliveryBatch();
        batch.Deliveries.Add(delivery);
        return CloudEvent(Convert.ToBase64String(batch.ToByteArray()));
    }

    /// <summary>As the sidecar posts a delivery: one CloudEvent whose data is the protobuf batch.</summary>
    private static string CloudEvent(string dataBase64) =>
        global::System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["id"] = Guid.NewGuid().ToString(),
            ["specversion"] = "1.0",
            ["source"] = "forged",
            ["type"] = "com.dapr.event.sent",
            ["topic"] = "deliveries.forged",
            ["pubsubname"] = DaprNames.PubSub,
            ["datacontenttype"] = ProtoPubSub.ContentType,
            ["data_base64"] = dataBase64,
        });

    private static async Task<HttpStatusCode> PostAsync(string url, string json, string? token) =>
        (await PostForBodyAsync(url, json, token)).Status;

    private static async Task<(HttpStatusCode Status, string Body)> PostForBodyAsync(string url, string json, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(json, Encoding.UTF8, "application/cloudevents+json") };
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation(SidecarTokens.Header, token);
        }

        using var response = await Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
