using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapr.Client;
using Dapr.DevSidecar.Api;
using Dapr.DevSidecar.Cli;
using Dapr.DevSidecar.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.Tests.Polyglot;

/// <summary>
/// Where the dev sidecar must behave as daprd for SDKs other than ours to work unmodified:
/// path cleaning, unimplemented APIs, HTTP bulk publish, run-file environment.
/// </summary>
[Trait("Area", "Polyglot")]
public sealed class SidecarFidelityTests
{
    private static SidecarTestHost Host() => new SidecarTestHost()
        .WithComponent("state.yaml", SidecarTestHost.Component("store", "state.in-memory"))
        .WithComponent("pubsub.yaml", SidecarTestHost.Component("pubsub", "pubsub.in-memory"));

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Body(HttpResponseMessage response) => await response.Content.ReadFromJsonAsync<JsonElement>();

    [Theory]
    [InlineData("/v1.0/state/s", "/v1.0/state/s")]
    [InlineData("//v1.0/actors/T/1/method/m", "/v1.0/actors/T/1/method/m")]
    [InlineData("/v1.0/state/s/", "/v1.0/state/s")]
    [InlineData("/v1.0//state///s//k/", "/v1.0/state/s/k")]
    [InlineData("/v1.0/./state/x/../s", "/v1.0/state/s")]
    [InlineData("/../v1.0", "/v1.0")]
    [InlineData("//", "/")]
    public void Paths_clean_as_go_path_clean(string path, string expected) =>
        Assert.Equal(expected, PathCleaningMiddleware.Clean(path));

    [Fact]
    public async Task Double_and_trailing_slashes_reach_the_same_routes_as_on_daprd()
    {
        await using var host = Host();
        var sidecar = await host.StartSidecarAsync("clean", apiToken: "tok");
        // Absolute URIs, as Dapr.Actors builds them ($"{endpoint}/{path}"): "//v1.0" alone would be a host name.
        Uri At(string path) => new(sidecar.HttpEndpoint + path);
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Add("dapr-api-token", "tok");

        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync(At("//v1.0/state/store/"), Json("""[{"key":"k","value":42}]"""))).StatusCode);
        Assert.Equal("42", await http.GetStringAsync(At("//v1.0//state/store/k/")));
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync(At("/v1.0/healthz/"))).StatusCode);

        // The token check sees the cleaned path too: health stays open, the rest stays closed.
        using var anonymous = new HttpClient();
        Assert.Equal(HttpStatusCode.NoContent, (await anonymous.GetAsync(At("//v1.0/healthz/outbound/"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(At("//v1.0/state/store/k"))).StatusCode);
    }

    [Theory]
    [InlineData("POST", "/v1.0-beta1/workflows/dapr/OrderFlow/start", "workflow API")]
    [InlineData("GET", "/v1.0-alpha1/workflows/dapr/abc", "workflow API")]
    [InlineData("GET", "/v1.0/configuration/config?key=a", "configuration API")]
    [InlineData("GET", "/v1.0-alpha1/configuration/config/subscribe", "configuration API")]
    [InlineData("POST", "/v1.0-alpha1/lock/lockstore", "distributed lock API")]
    [InlineData("POST", "/v1.0-alpha1/unlock/lockstore", "distributed lock API")]
    [InlineData("POST", "/v1.0-alpha1/jobs/nightly", "jobs API")]
    [InlineData("PUT", "/v1.0/jobs/nightly", "jobs API")]
    [InlineData("PUT", "/v1.0-alpha1/crypto/vault/encrypt", "cryptography API")]
    [InlineData("POST", "/v1.0-alpha1/state/store/query", "state query API")]
    [InlineData("POST", "/v1.0-alpha2/conversation/llm/converse", "conversation API")]
    [InlineData("PUT", "/v1.0/metadata/team", "metadata API")]
    public async Task Unimplemented_http_apis_answer_501_naming_the_api(string method, string path, string api)
    {
        await using var host = Host();
        var sidecar = await host.StartSidecarAsync("unimpl");
        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Json("{}") });

        Assert.Equal(HttpStatusCode.NotImplemented, response.StatusCode);
        var body = await Body(response);
        Assert.Equal("ERR_API_UNIMPLEMENTED", body.GetProperty("errorCode").GetString());
        var message = body.GetProperty("message").GetString()!;
        Assert.Contains(api, message, StringComparison.Ordinal);
        Assert.Contains("not implemented by the dev sidecar", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "/nope")]
    [InlineData("GET", "/v1.0/nothing/here")]
    [InlineData("PATCH", "/v1.0/state/store")]
    public async Task Unknown_paths_answer_404_with_daprds_json_error(string method, string path)
    {
        await using var host = Host();
        var sidecar = await host.StartSidecarAsync("unknown");
        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("ERR_DIRECT_INVOKE", (await Body(response)).GetProperty("errorCode").GetString());
    }

    [Fact]
    public async Task Unimplemented_grpc_apis_answer_unimplemented_naming_the_api()
    {
        await using var host = Host();
        var sidecar = await host.StartSidecarAsync("grpc-unimpl");
        var dapr = host.ClientFor(sidecar);

        var config = await Assert.ThrowsAsync<DaprException>(() => dapr.GetConfiguration("config", ["a"]));
        AssertUnimplemented(config.InnerException, "configuration API");
#pragma warning disable DAPR_DISTRIBUTEDLOCK // the lock API is alpha in the SDK
        var locking = await Assert.ThrowsAnyAsync<Exception>(() => dapr.Lock("lockstore", "res", "me", 10));
#pragma warning restore DAPR_DISTRIBUTEDLOCK
        AssertUnimplemented(locking.InnerException ?? locking, "distributed lock API");

        // The workflow engine's service (durabletask) is answered by the sidecar, never proxied,
        // even with an app id in the metadata.
        using var channel = GrpcChannel.ForAddress(sidecar.GrpcEndpoint);
        var hello = new Method<byte[], byte[]>(MethodType.Unary, "TaskHubSidecarService", "Hello",
            Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        foreach (var headers in new[] { new Metadata(), new Metadata { { "dapr-app-id", "someone" } } })
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().AsyncUnaryCall(hello, null, new CallOptions(headers), []).ResponseAsync);
            AssertUnimplemented(ex, "workflow API");
            Assert.Contains("TaskHubSidecarService/Hello", ex.Status.Detail, StringComparison.Ordinal);
        }
    }

    private static void AssertUnimplemented(Exception? ex, string api)
    {
        var rpc = Assert.IsType<RpcException>(ex);
        Assert.Equal(StatusCode.Unimplemented, rpc.StatusCode);
        Assert.Contains(api, rpc.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("not implemented by the dev sidecar", rpc.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http_bulk_publish_delivers_every_entry_in_its_content_type()
    {
        await using var host = Host();
        await using var app = await SubscriberApp.StartAsync(a => a.MapPost("/bulk", () => Results.Ok()).WithTopic("pubsub", "bulk"));
        var sub = await host.StartSidecarAsync("bulk-sub", app.Port);
        var pub = await host.StartSidecarAsync("bulk-pub");
        await sub.SubscribedAsync();
        using var http = new HttpClient { BaseAddress = new Uri(pub.HttpEndpoint) };

        // entryID in any case, as Go's JSON decoding reads it (the JS SDK sends "entryID").
        using var response = await http.PostAsync("/v1.0-alpha1/publish/bulk/pubsub/bulk?metadata.cloudevent.type=bulk.type", Json("""
            [
              {"entryId":"1","event":{"n":1},"contentType":"application/json"},
              {"entryID":"2","event":"two","contentType":"text/plain","metadata":{"cloudevent.type":"entry.type"}},
              {"entryId":"3","event":"AQID","contentType":"application/octet-stream"}
            ]
            """));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);

        await Wait.UntilAsync(() => app.Requests.Count(r => r.Path == "/bulk") == 3, "three deliveries");
        var events = app.Requests.Where(r => r.Path == "/bulk").Select(r => JsonDocument.Parse(r.Body).RootElement).ToList();
        var json = events.Single(e => e.GetProperty("datacontenttype").GetString() == "application/json");
        Assert.Equal(1, json.GetProperty("data").GetProperty("n").GetInt32());
        Assert.Equal("bulk.type", json.GetProperty("type").GetString());
        Assert.Equal("bulk-pub", json.GetProperty("source").GetString());
        var text = events.Single(e => e.GetProperty("datacontenttype").GetString() == "text/plain");
        Assert.Equal("two", text.GetProperty("data").GetString());
        Assert.Equal("entry.type", text.GetProperty("type").GetString());
        var binary = events.Single(e => e.GetProperty("datacontenttype").GetString() == "application/octet-stream");
        Assert.Equal("AQID", binary.GetProperty("data_base64").GetString());

        // The stable v1.0 path works too.
        Assert.Equal(HttpStatusCode.NoContent,
            (await http.PostAsync("/v1.0/publish/bulk/pubsub/bulk", Json("""[{"entryId":"a","event":{},"contentType":"application/json"}]"""))).StatusCode);
    }

    [Theory]
    [InlineData("/v1.0-alpha1/publish/bulk/pubsub/t", """[{"entryId":"1","event":1,"contentType":"application/json"},{"entryId":"1","event":2,"contentType":"application/json"}]""", 400, "ERR_PUBSUB_EVENTS_SER")]
    [InlineData("/v1.0-alpha1/publish/bulk/pubsub/t", """[{"event":1,"contentType":"application/json"}]""", 400, "ERR_PUBSUB_EVENTS_SER")]
    [InlineData("/v1.0-alpha1/publish/bulk/pubsub/t", """[{"entryId":"1","event":5,"contentType":"text/plain"}]""", 400, "ERR_PUBSUB_EVENTS_SER")]
    [InlineData("/v1.0-alpha1/publish/bulk/pubsub/t", """[{"entryId":"1","event":"not base64!","contentType":"application/octet-stream"}]""", 400, "ERR_PUBSUB_EVENTS_SER")]
    [InlineData("/v1.0-alpha1/publish/bulk/pubsub/t", """{"not":"an array"}""", 400, "ERR_PUBSUB_EVENTS_SER")]
    [InlineData("/v1.0-alpha1/publish/bulk/nope/t", """{"not":"an array"}""", 404, "ERR_PUBSUB_NOT_FOUND")]
    [InlineData("/v1.0-alpha1/publish/bulk/pubsub/t?metadata.rawPayload=maybe", "[]", 400, "ERR_PUBSUB_REQUEST_METADATA")]
    public async Task Http_bulk_publish_refuses_bad_requests_as_daprd(string path, string body, int status, string errorCode)
    {
        await using var host = Host();
        var pub = await host.StartSidecarAsync("bulk-bad");
        using var http = new HttpClient { BaseAddress = new Uri(pub.HttpEndpoint) };

        using var response = await http.PostAsync(path, Json(body));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(errorCode, (await Body(response)).GetProperty("errorCode").GetString());
    }

    [Fact]
    public async Task Run_file_env_wins_over_the_sidecar_defaults()
    {
        await using var host = Host();
        var sidecar = await host.StartSidecarAsync("envapp", appPort: 5999);
        var defaults = AppProcess.Environment(sidecar.Context.Options, sidecar);
        Assert.Equal(sidecar.HttpEndpoint, defaults["DAPR_HTTP_ENDPOINT"]);

        var env = AppProcess.WithRunFileEnv(defaults, new Dictionary<string, string>
        {
            ["DAPR_HTTP_PORT"] = "3600",
            ["DAPR_GRPC_ENDPOINT"] = "http://127.0.0.1:51000",
            ["APP_ID"] = "renamed",
            ["OTHER"] = "x",
        }, replica: 0);
        Assert.Equal("3600", env["DAPR_HTTP_PORT"]);
        // The SDKs prefer an endpoint over a port: a run file that sets the port alone gets no endpoint of ours.
        Assert.False(env.ContainsKey("DAPR_HTTP_ENDPOINT"));
        Assert.Equal("http://127.0.0.1:51000", env["DAPR_GRPC_ENDPOINT"]);
        Assert.Equal(defaults["DAPR_GRPC_PORT"], env["DAPR_GRPC_PORT"]);
        Assert.Equal("renamed", env["APP_ID"]);
        Assert.Equal("x", env["OTHER"]);

        // A replica keeps its own ports: two instances cannot share one.
        var replica = AppProcess.WithRunFileEnv(defaults, new Dictionary<string, string> { ["DAPR_HTTP_PORT"] = "3600", ["APP_PORT"] = "1", ["OTHER"] = "x" }, replica: 1);
        Assert.Equal(defaults["DAPR_HTTP_PORT"], replica["DAPR_HTTP_PORT"]);
        Assert.Equal(defaults["DAPR_HTTP_ENDPOINT"], replica["DAPR_HTTP_ENDPOINT"]);
        Assert.Equal("5999", replica["APP_PORT"]);
        Assert.Equal("x", replica["OTHER"]);
    }
}
