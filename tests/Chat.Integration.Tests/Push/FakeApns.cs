using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Chat.Integration.Tests.Push;

/// <summary>A push APNs accepted: the device token, the apns-* headers and the JSON payload.</summary>
public sealed record ApnsPush(string DeviceToken, IReadOnlyDictionary<string, string> Headers, JsonElement Payload);

/// <summary>
/// Apple's provider API as a test server: HTTP/2 over TLS (a self-signed certificate the binding
/// pins), <c>POST /3/device/{token}</c>, a provider token (ES256 JWT, kid = key id, iss = team id)
/// checked with the public half of the key the test generated, 200 with <c>apns-id</c>, and
/// Apple's error bodies: 410 Unregistered, 400 BadDeviceToken, 403 InvalidProviderToken.
/// </summary>
public sealed class FakeApns : FakeServer
{
    public const string KeyId = "TESTKEY123";
    public const string TeamId = "TESTTEAM45";

    private readonly ECDsa _providerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _certificate;

    private FakeApns()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=fake-apns", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        _certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    public ConcurrentQueue<ApnsPush> Pushes { get; } = new();

    /// <summary>Tokens Apple no longer knows (410 Unregistered).</summary>
    public ConcurrentDictionary<string, bool> Unregistered { get; } = new();

    /// <summary>Tokens that are not APNs tokens at all (400 BadDeviceToken).</summary>
    public ConcurrentDictionary<string, bool> BadTokens { get; } = new();

    /// <summary>The PKCS#8 PEM the component's <c>private-key</c> holds.</summary>
    public string PrivateKeyPem => _providerKey.ExportPkcs8PrivateKeyPem();

    /// <summary>SHA-256 of the server certificate, for the binding's <c>endpointCertificateThumbprint</c>.</summary>
    public string Thumbprint => Convert.ToHexString(SHA256.HashData(_certificate.RawData));

    public static async Task<FakeApns> StartAsync()
    {
        var fake = new FakeApns();
        await fake.StartServerAsync(fake._certificate);
        return fake;
    }

    public IEnumerable<ApnsPush> To(string token) => Pushes.Where(p => p.DeviceToken == token);

    protected override void Map(WebApplication app) =>
        app.MapPost("/3/device/{token}", async (string token, HttpRequest request) =>
        {
            if (request.Protocol != "HTTP/2")
            {
                Problem($"APNs request over {request.Protocol}");
            }

            var auth = request.Headers.Authorization.ToString();
            var jwt = auth.StartsWith("bearer ", StringComparison.OrdinalIgnoreCase) ? auth[7..] : "";
            var verified = Jws.Verify(jwt, Jws.Es256(_providerKey));
            if (verified is not { } v
                || v.Header.GetProperty("kid").GetString() != KeyId
                || v.Claims.GetProperty("iss").GetString() != TeamId
                || Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - v.Claims.GetProperty("iat").GetInt64()) > 3600)
            {
                Problem("APNs provider token rejected: " + auth);
                return Reason(StatusCodes.Status403Forbidden, "InvalidProviderToken");
            }

            var headers = request.Headers.Where(h => h.Key.StartsWith("apns-", StringComparison.Ordinal))
                .ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.Ordinal);
            foreach (var required in new[] { "apns-push-type", "apns-priority", "apns-collapse-id", "apns-expiration", "apns-topic" })
            {
                if (!headers.ContainsKey(required))
                {
                    Problem($"APNs request without {required}");
                }
            }

            if (headers.TryGetValue("apns-collapse-id", out var collapse) && System.Text.Encoding.UTF8.GetByteCount(collapse) > 64)
            {
                return Reason(StatusCodes.Status400BadRequest, "BadCollapseId");
            }

            JsonElement payload;
            try
            {
                payload = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body);
                _ = payload.GetProperty("aps").GetProperty("alert").GetProperty("title").GetString();
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                Problem("APNs payload without aps.alert: " + ex.Message);
                return Reason(StatusCodes.Status400BadRequest, "PayloadEmpty");
            }

            if (BadTokens.ContainsKey(token))
            {
                return Reason(StatusCodes.Status400BadRequest, "BadDeviceToken");
            }

            if (Unregistered.ContainsKey(token))
            {
                return Results.Json(new { reason = "Unregistered", timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, statusCode: StatusCodes.Status410Gone);
            }

            Pushes.Enqueue(new ApnsPush(token, headers, payload));
            request.HttpContext.Response.Headers["apns-id"] = Guid.NewGuid().ToString().ToUpperInvariant();
            return Results.Ok();
        });

    private static IResult Reason(int status, string reason) => Results.Json(new { reason }, statusCode: status);
}
