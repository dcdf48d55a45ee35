using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Dapr.Client;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Tests;

/// <summary>Output bindings (bindings.http, bindings.apns) through the official SDK and the HTTP API.</summary>
[Trait("Area", "DevSidecar")]
public sealed class BindingsConformanceTests
{
    [Fact]
    public async Task Http_binding_sends_method_path_headers_and_body_and_returns_status_metadata()
    {
        await using var target = await SubscriberApp.StartAsync(a =>
        {
            a.MapPost("/base/items/7", async (HttpRequest r) => Results.Text("created", statusCode: 201));
            a.MapGet("/base/items/7", () => Results.Json(new { name = "seven" }));
            a.MapGet("/base/missing", () => Results.NotFound());
        });
        await using var host = new SidecarTestHost().WithComponent("http.yaml",
            SidecarTestHost.Component("web", "bindings.http", ("url", $"http://127.0.0.1:{target.Port}/base")));
        var sidecar = await host.StartSidecarAsync("caller");
        var dapr = host.ClientFor(sidecar);

        var created = await dapr.InvokeBindingAsync(new BindingRequest("web", "create")
        {
            Data = JsonSerializer.SerializeToUtf8Bytes(new { a = 1 }),
            Metadata = { ["path"] = "/items/7", ["X-Custom"] = "yes", ["lowercase"] = "not a header" },
        });
        Assert.Equal("201", created.Metadata["statusCode"]);
        Assert.Equal("201 Created", created.Metadata["status"]);
        Assert.Equal("created", Encoding.UTF8.GetString(created.Data.Span));
        var sent = target.Requests.Single(r => r.Path == "/base/items/7");
        Assert.Equal("{\"a\":1}", sent.Body);
        Assert.Equal("yes", sent.Headers["X-Custom"]);
        Assert.False(sent.Headers.ContainsKey("lowercase"));
        Assert.StartsWith("application/json", sent.ContentType, StringComparison.Ordinal);

        var got = await dapr.InvokeBindingAsync(new BindingRequest("web", "get") { Metadata = { ["path"] = "items/7" } });
        Assert.Equal("{\"name\":\"seven\"}", Encoding.UTF8.GetString(got.Data.Span));
        Assert.StartsWith("application/json", got.Metadata["Content-Type"], StringComparison.Ordinal);

        var ex = await Assert.ThrowsAsync<DaprException>(() => dapr.InvokeBindingAsync(new BindingRequest("web", "get") { Metadata = { ["path"] = "missing" } }));
        var rpc = Assert.IsType<Grpc.Core.RpcException>(ex.InnerException);
        Assert.Equal(Grpc.Core.StatusCode.Internal, rpc.StatusCode);
        Assert.Equal("error invoking output binding web: received status code 404", rpc.Status.Detail);

        var tolerated = await dapr.InvokeBindingAsync(new BindingRequest("web", "get") { Metadata = { ["path"] = "missing", ["errorIfNot2XX"] = "false" } });
        Assert.Equal("404", tolerated.Metadata["statusCode"]);
    }

    [Fact]
    public async Task Http_api_bindings_route_passes_data_as_json_and_returns_metadata_headers()
    {
        await using var target = await SubscriberApp.StartAsync(a => a.MapPut("/x/y", () => Results.Text("ok")));
        await using var host = new SidecarTestHost().WithComponent("http.yaml",
            SidecarTestHost.Component("web", "bindings.http", ("url", $"http://127.0.0.1:{target.Port}/x")));
        var sidecar = await host.StartSidecarAsync("caller");
        using var http = new HttpClient();

        var response = await http.PostAsync($"{sidecar.HttpEndpoint}/v1.0/bindings/web",
            JsonContent("""{"operation":"put","data":"hello","metadata":{"path":"y"}}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        Assert.Equal("200", response.Headers.GetValues("metadata.statusCode").Single());
        Assert.Equal("\"hello\"", target.Requests.Single(r => r.Path == "/x/y").Body);

        var missing = await http.PostAsync($"{sidecar.HttpEndpoint}/v1.0/bindings/nope", JsonContent("""{"operation":"get"}"""));
        Assert.Equal(HttpStatusCode.InternalServerError, missing.StatusCode);
        using var error = JsonDocument.Parse(await missing.Content.ReadAsStringAsync());
        Assert.Equal("ERR_INVOKE_OUTPUT_BINDING", error.RootElement.GetProperty("errorCode").GetString());
        Assert.Equal("error invoking output binding nope: couldn't find output binding nope", error.RootElement.GetProperty("message").GetString());

        var badOp = await http.PostAsync($"{sidecar.HttpEndpoint}/v1.0/bindings/web", JsonContent("""{"operation":"fly"}"""));
        Assert.Contains("does not support operation fly", await badOp.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static StringContent JsonContent(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>A local HTTP/2 TLS server standing in for APNs, checking the provider token and headers.</summary>
    private sealed class FakeApns : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private FakeApns(WebApplication app, int port, string thumbprint)
        {
            _app = app;
            Endpoint = $"https://127.0.0.1:{port}";
            Thumbprint = thumbprint;
        }

        public string Endpoint { get; }

        public string Thumbprint { get; }

        public ConcurrentQueue<(string Path, Dictionary<string, string> Headers, string Body, string Protocol, JsonElement JwtHeader, JsonElement Claims, bool SignatureValid)> Received { get; } = new();

        public static async Task<FakeApns> StartAsync(ECDsa providerPublicKey)
        {
            using var tlsKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=127.0.0.1", tlsKey, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
            var cert = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
            var thumbprint = Convert.ToHexString(SHA256.HashData(cert.RawData));

            var port = SidecarHost.FreePort();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrelHttpsConfiguration();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                l.UseHttps(cert);
            }));
            var app = builder.Build();
            var fake = new FakeApns(app, port, thumbprint);
            app.MapPost("/3/device/{token}", async (string token, HttpRequest r) =>
            {
                using var reader = new StreamReader(r.Body);
                var body = await reader.ReadToEndAsync();
                var auth = r.Headers.Authorization.ToString();
                var jwt = auth["bearer ".Length..].Split('.');
                var header = JsonDocument.Parse(FromBase64Url(jwt[0])).RootElement.Clone();
                var claims = JsonDocument.Parse(FromBase64Url(jwt[1])).RootElement.Clone();
                var valid = auth.StartsWith("bearer ", StringComparison.Ordinal) && providerPublicKey.VerifyData(
                    Encoding.ASCII.GetBytes($"{jwt[0]}.{jwt[1]}"), FromBase64Url(jwt[2]), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
                fake.Received.Enqueue((r.Path, r.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body, r.Protocol, header, claims, valid));
                if (token == "bad-token")
                {
                    return Results.Json(new { reason = "BadDeviceToken" }, statusCode: 400);
                }

                r.HttpContext.Response.Headers["apns-id"] = r.Headers["apns-id"].FirstOrDefault() ?? "generated-id";
                return Results.Ok();
            });
            await app.StartAsync();
            return fake;
        }

        private static byte[] FromBase64Url(string s)
        {
            s = s.Replace('-', '+').Replace('_', '/');
            return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private static string ApnsComponent(string name, ECDsa providerKey, string endpoint, string? thumbprint)
    {
        var pem = providerKey.ExportPkcs8PrivateKeyPem().Replace("\n", "\\n", StringComparison.Ordinal);
        (string, string)[] md = [("key-id", "KEY123"), ("team-id", "TEAM456"), ("private-key", pem), ("endpoint", endpoint)];
        return SidecarTestHost.Component(name, "bindings.apns", thumbprint is null ? md : [.. md, ("endpointCertificateThumbprint", thumbprint)]);
    }

    [Fact]
    public async Task Apns_binding_reaches_an_http2_server_with_a_valid_ES256_token_and_apns_headers()
    {
        using var providerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var apns = await FakeApns.StartAsync(providerKey);
        await using var host = new SidecarTestHost()
            .WithComponent("apns.yaml", ApnsComponent("push", providerKey, apns.Endpoint, apns.Thumbprint))
            .WithComponent("apns-untrusted.yaml", ApnsComponent("push-untrusted", providerKey, apns.Endpoint, thumbprint: null));
        var sidecar = await host.StartSidecarAsync("notifier");
        var dapr = host.ClientFor(sidecar);

        var payload = new { aps = new { alert = new { title = "Hi", body = "there" } } };
        var response = await dapr.InvokeBindingAsync(new BindingRequest("push", "create")
        {
            Data = JsonSerializer.SerializeToUtf8Bytes(payload),
            Metadata =
            {
                ["device-token"] = "abc123", ["apns-push-type"] = "alert", ["apns-id"] = "11111111-2222-3333-4444-555555555555",
                ["apns-expiration"] = "0", ["apns-priority"] = "10", ["apns-topic"] = "com.example.chat", ["apns-collapse-id"] = "conv-1",
            },
        });

        using var answer = JsonDocument.Parse(response.Data);
        Assert.Equal("11111111-2222-3333-4444-555555555555", answer.RootElement.GetProperty("messageID").GetString());
        var got = Assert.Single(apns.Received);
        Assert.Equal("/3/device/abc123", got.Path);
        Assert.Equal("HTTP/2", got.Protocol);
        Assert.True(got.SignatureValid, "the ES256 signature verifies with the provider's public key");
        Assert.Equal("ES256", got.JwtHeader.GetProperty("alg").GetString());
        Assert.Equal("KEY123", got.JwtHeader.GetProperty("kid").GetString());
        Assert.Equal("TEAM456", got.Claims.GetProperty("iss").GetString());
        Assert.InRange(got.Claims.GetProperty("iat").GetInt64(), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds());
        Assert.Equal("alert", got.Headers["apns-push-type"]);
        Assert.Equal("0", got.Headers["apns-expiration"]);
        Assert.Equal("10", got.Headers["apns-priority"]);
        Assert.Equal("com.example.chat", got.Headers["apns-topic"]);
        Assert.Equal("conv-1", got.Headers["apns-collapse-id"]);
        Assert.Equal(JsonSerializer.Serialize(payload), got.Body);

        // The provider token is reused, not re-signed per request.
        await dapr.InvokeBindingAsync(new BindingRequest("push", "create") { Data = Encoding.UTF8.GetBytes("{}"), Metadata = { ["device-token"] = "again" } });
        var tokens = apns.Received.Select(r => r.Headers["authorization"]).Distinct().Count();
        Assert.Equal(1, tokens);

        var rejected = await Assert.ThrowsAsync<DaprException>(() => dapr.InvokeBindingAsync(new BindingRequest("push", "create")
        {
            Data = Encoding.UTF8.GetBytes("{}"),
            Metadata = { ["device-token"] = "bad-token" },
        }));
        Assert.Contains("BadDeviceToken", ((Grpc.Core.RpcException)rejected.InnerException!).Status.Detail, StringComparison.Ordinal);

        var noToken = await Assert.ThrowsAsync<DaprException>(() => dapr.InvokeBindingAsync(new BindingRequest("push", "create") { Data = Encoding.UTF8.GetBytes("{}") }));
        Assert.Contains("the device-token parameter is required", ((Grpc.Core.RpcException)noToken.InnerException!).Status.Detail, StringComparison.Ordinal);

        // Without the dev-only thumbprint the self-signed server is not trusted.
        var untrusted = await Assert.ThrowsAsync<DaprException>(() => dapr.InvokeBindingAsync(new BindingRequest("push-untrusted", "create")
        {
            Data = Encoding.UTF8.GetBytes("{}"),
            Metadata = { ["device-token"] = "abc123" },
        }));
        Assert.Contains("sending the push notification failed", ((Grpc.Core.RpcException)untrusted.InnerException!).Status.Detail, StringComparison.Ordinal);
        Assert.Equal(3, apns.Received.Count); // the untrusted call never reached the server
    }
}
