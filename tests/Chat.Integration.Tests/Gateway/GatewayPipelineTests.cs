using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Chat.Domain;
using Chat.Gateway;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Chat.ServiceDefaults.Auth;
using Chat.ServiceDefaults.Boundary;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Integration.Tests.Gateway;

/// <summary>
/// What the gateway's pipeline runs for a hub request and for any other: a WebSocket's request
/// keeps the frame of every async middleware it passed for the connection's life, so hub requests
/// pass only what they need. Probes mapped beside the gateway's own endpoints, one marked as a hub
/// endpoint (as MapHub marks negotiate and the transports), report what reached them.
/// </summary>
[Trait("Area", "Security")]
public sealed class GatewayPipelineTests
{
    // What ASP.NET Core's authorization middleware leaves in HttpContext.Items when it ran for an endpoint.
    private const string AuthorizationRan = "__AuthorizationMiddlewareWithEndpointInvoked";

    private const string CloudEvent = """{"specversion":"1.0","id":"1","source":"test","type":"test","datacontenttype":"text/plain","data":"inside"}""";

    [Fact]
    public async Task Hub_requests_skip_authorization_and_CloudEvents_and_every_other_request_gets_both()
    {
        await using var system = await ChatHarness.InProcessAsync(new() { Apps = [] });
        var gateway = await system.StartAppAsync(DaprNames.Apps.Gateway, map: app =>
        {
            ServiceRegistry.Map(DaprNames.Apps.Gateway, app);
            app.MapPost("/probe/hub", Probe).WithMetadata(new HubMetadata(typeof(ChatHub))).ForClients();
            app.MapPost("/probe/other", Probe);
        });
        var token = new ChatTokenService(ChatSigningKeys.Parse(ChatRun.JwtKey)).IssueAccessToken(new ChatUser("probe", "dev1", "probe"), out _);
        using var clients = new HttpClient { BaseAddress = new Uri(gateway.Url) };
        using var sidecar = new HttpClient { BaseAddress = new Uri(gateway.AppPortUrl) };
        sidecar.DefaultRequestHeaders.Add(SidecarTokens.Header, gateway.Tokens.AppApiToken);

        // A client's request on the client port, as negotiate and the WebSocket upgrade come.
        var hub = await PostAsync(clients, "/probe/hub", token);
        Assert.False(hub.AuthorizationRan, "the authorization middleware ran for a hub request");
        Assert.Equal("application/cloudevents+json", hub.ContentType);
        Assert.Equal(CloudEvent, hub.Body);

        // The sidecar's request on the app port, as a pub/sub delivery comes.
        var other = await PostAsync(sidecar, "/probe/other", token: null);
        Assert.True(other.AuthorizationRan, "the authorization middleware did not run for a non-hub request");
        Assert.Equal("text/plain", other.ContentType);
        Assert.Equal("inside", other.Body);
    }

    private static async Task<Seen> PostAsync(HttpClient http, string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(CloudEvent, Encoding.UTF8, new MediaTypeHeaderValue("application/cloudevents+json")),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<Seen>())!;
    }

    private static async Task Probe(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var contentType = context.Request.ContentType?.Split(';')[0];
        await context.Response.WriteAsJsonAsync(new Seen(context.Items.ContainsKey(AuthorizationRan), contentType, body));
    }

    private sealed record Seen(bool AuthorizationRan, string? ContentType, string Body);
}
