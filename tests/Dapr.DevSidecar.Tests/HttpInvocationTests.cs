using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapr.Client;
using Dapr.Client.Autogen.Grpc.v1;
using Dapr.DevSidecar.Tests.Infrastructure;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

// The SDK marks its invocation helpers obsolete (it recommends plain HTTP/gRPC clients), but
// services still call them: these tests check what they send.
#pragma warning disable CS0618

namespace Dapr.DevSidecar.Tests;

/// <summary>Service invocation over HTTP (<c>/v1.0/invoke</c>) and the InvokeService RPC, through the official SDK.</summary>
[Trait("Area", "DevSidecar")]
public sealed class HttpInvocationTests
{
    public sealed record Seen(string Method, string Path, string Query, string? Caller, string? Callee, string? Token, string? Custom, string? AppIdHeader, string Body, string? ContentType);

    private static void MapEcho(WebApplication app)
    {
        app.Map("/{**rest}", async (HttpContext http) =>
        {
            if (http.Request.Path == "/teapot")
            {
                http.Response.StatusCode = 418;
                http.Response.Headers["x-reason"] = "short and stout";
                await http.Response.WriteAsync("I'm a teapot");
                return;
            }

            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync();
            string? H(string name) => http.Request.Headers.TryGetValue(name, out var v) ? v.ToString() : null;
            http.Response.Headers["x-reply"] = "from-app";
            await http.Response.WriteAsJsonAsync(new Seen(
                http.Request.Method, http.Request.Path.Value ?? "", http.Request.QueryString.Value ?? "",
                H("dapr-caller-app-id"), H("dapr-callee-app-id"), H("dapr-api-token"), H("x-custom"), H("dapr-app-id"), body, http.Request.ContentType));
        });
    }

    private static string Id(string name) => $"{name}-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task Get_and_post_pass_verb_path_query_headers_and_body_and_the_target_app_token()
    {
        await using var app = await TestApp.StartAsync(MapEcho);
        await using var host = new SidecarTestHost();
        var targetId = Id("target");
        var callerId = Id("caller");
        await host.StartSidecarAsync(targetId, app.Port, appApiToken: "target-app-secret");
        var caller = await host.StartSidecarAsync(callerId, apiToken: "caller-api-token");
        var dapr = host.ClientFor(caller, "caller-api-token");

        var get = dapr.CreateInvokeMethodRequest(HttpMethod.Get, targetId, "orders/42", [new("x", "1"), new("y", "a b")]);
        get.Headers.Add("x-custom", "hello");
        var seen = await dapr.InvokeMethodAsync<Seen>(get);
        Assert.Equal("GET", seen.Method);
        Assert.Equal("/orders/42", seen.Path);
        Assert.Equal("?x=1&y=a%20b", seen.Query);
        Assert.Equal("hello", seen.Custom);
        Assert.Equal(callerId, seen.Caller);
        Assert.Equal(targetId, seen.Callee);
        Assert.Equal("target-app-secret", seen.Token);

        var post = dapr.CreateInvokeMethodRequest(HttpMethod.Post, targetId, "orders", [], new { item = "tea", qty = 2 });
        using var response = await dapr.InvokeMethodWithResponseAsync(post);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("from-app", response.Headers.GetValues("x-reply").Single());
        var posted = await response.Content.ReadFromJsonAsync<Seen>();
        Assert.Equal("POST", posted!.Method);
        Assert.Equal("""{"item":"tea","qty":2}""", posted.Body);
        Assert.StartsWith("application/json", posted.ContentType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task App_error_status_headers_and_body_pass_through()
    {
        await using var app = await TestApp.StartAsync(MapEcho);
        await using var host = new SidecarTestHost();
        var targetId = Id("target");
        await host.StartSidecarAsync(targetId, app.Port);
        var caller = await host.StartSidecarAsync(Id("caller"));
        var dapr = host.ClientFor(caller);

        using var response = await dapr.InvokeMethodWithResponseAsync(dapr.CreateInvokeMethodRequest(HttpMethod.Put, targetId, "teapot"));
        Assert.Equal((HttpStatusCode)418, response.StatusCode);
        Assert.Equal("short and stout", response.Headers.GetValues("x-reason").Single());
        Assert.Equal("I'm a teapot", await response.Content.ReadAsStringAsync());

        var ex = await Assert.ThrowsAsync<InvocationException>(() => dapr.InvokeMethodAsync(HttpMethod.Delete, targetId, "teapot"));
        Assert.Equal((HttpStatusCode)418, ex.Response.StatusCode);
    }

    [Fact]
    public async Task Unknown_app_is_err_direct_invoke_and_header_form_works()
    {
        await using var app = await TestApp.StartAsync(MapEcho);
        await using var host = new SidecarTestHost();
        var targetId = Id("target");
        var callerId = Id("caller");
        await host.StartSidecarAsync(targetId, app.Port);
        var caller = await host.StartSidecarAsync(callerId);
        using var http = new HttpClient();

        using var missing = await http.PostAsync($"{caller.HttpEndpoint}/v1.0/invoke/nobody/method/x", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.InternalServerError, missing.StatusCode);
        var error = JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("ERR_DIRECT_INVOKE", error.GetProperty("errorCode").GetString());
        Assert.Contains("failed to invoke, id: nobody", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        // daprd's header form: any path with dapr-app-id; the header does not reach the app.
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"{caller.HttpEndpoint}/things/7?z=9") { Content = new StringContent("body", Encoding.UTF8, "text/plain") };
        request.Headers.Add("dapr-app-id", targetId);
        using var viaHeader = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, viaHeader.StatusCode);
        var seen = await viaHeader.Content.ReadFromJsonAsync<Seen>();
        Assert.Equal(("PATCH", "/things/7", "?z=9", "body", callerId), (seen!.Method, seen.Path, seen.Query, seen.Body, seen.Caller));
        Assert.Null(seen.AppIdHeader);
    }

    [Fact]
    public async Task Missing_or_wrong_api_token_is_rejected()
    {
        await using var app = await TestApp.StartAsync(MapEcho);
        await using var host = new SidecarTestHost();
        var targetId = Id("target");
        await host.StartSidecarAsync(targetId, app.Port);
        var caller = await host.StartSidecarAsync(Id("caller"), apiToken: "right");

        foreach (var token in new[] { null, "wrong" })
        {
            var dapr = host.ClientFor(caller, token);
            var ex = await Assert.ThrowsAsync<InvocationException>(() => dapr.InvokeMethodAsync(HttpMethod.Get, targetId, "x"));
            Assert.Equal(HttpStatusCode.Unauthorized, ex.Response.StatusCode);
        }
    }

    [Fact]
    public async Task InvokeService_rpc_reaches_an_http_app_with_verb_query_and_data()
    {
        await using var app = await TestApp.StartAsync(MapEcho);
        await using var host = new SidecarTestHost();
        var targetId = Id("target");
        await host.StartSidecarAsync(targetId, app.Port, appApiToken: "tok");
        var caller = await host.StartSidecarAsync(Id("caller"));
        using var channel = GrpcChannel.ForAddress(caller.GrpcEndpoint);
        var client = new Dapr.Client.Autogen.Grpc.v1.Dapr.DaprClient(channel);

        var call = client.InvokeServiceAsync(new InvokeServiceRequest
        {
            Id = targetId,
            Message = new InvokeRequest
            {
                Method = "items/9",
                ContentType = "text/plain",
                Data = new Any { Value = ByteString.CopyFromUtf8("payload") },
                HttpExtension = new HTTPExtension { Verb = HTTPExtension.Types.Verb.Put, Querystring = "a=1" },
            },
        });
        var response = await call.ResponseAsync;
        Assert.Equal("200", (await call.ResponseHeadersAsync).GetValue("dapr-http-status"));
        var seen = JsonSerializer.Deserialize<Seen>(response.Data.Value.ToStringUtf8(), JsonSerializerOptions.Web)!;
        Assert.Equal(("PUT", "/items/9", "?a=1", "payload", "tok"), (seen.Method, seen.Path, seen.Query, seen.Body, seen.Token));
        Assert.StartsWith("application/json", response.ContentType, StringComparison.Ordinal);

        var failed = await Assert.ThrowsAsync<RpcException>(() => client.InvokeServiceAsync(new InvokeServiceRequest
        {
            Id = targetId,
            Message = new InvokeRequest { Method = "teapot", HttpExtension = new HTTPExtension { Verb = HTTPExtension.Types.Verb.Get } },
        }).ResponseAsync);
        Assert.Equal(StatusCode.Unknown, failed.StatusCode);

        var missing = await Assert.ThrowsAsync<RpcException>(() => client.InvokeServiceAsync(new InvokeServiceRequest { Id = "nobody", Message = new InvokeRequest { Method = "x" } }).ResponseAsync);
        Assert.Equal(StatusCode.Internal, missing.StatusCode);
        Assert.Contains("failed to invoke, id: nobody", missing.Status.Detail, StringComparison.Ordinal);
    }
}
