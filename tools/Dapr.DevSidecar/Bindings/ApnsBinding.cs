using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapr.DevSidecar.Components;

namespace Dapr.DevSidecar.Bindings;

/// <summary>
/// <c>bindings.apns</c> as components-contrib implements it: operation <c>create</c> sends the
/// data as a push notification over HTTP/2 to <c>https://api.push.apple.com</c> (or
/// <c>api.sandbox.push.apple.com</c> with <c>development: "true"</c>), path
/// <c>/3/device/{device-token}</c>, authenticated by an ES256 JWT (kid = key-id, iss = team-id,
/// iat) signed with the PKCS#8 <c>private-key</c> and reused for 55 minutes; request metadata
/// <c>apns-*</c> become headers; the answer is <c>{"messageID": apns-id}</c>.
/// <para>Dev-sidecar extensions, for tests against a local server: <c>endpoint</c> replaces the
/// Apple host, and <c>endpointCertificateThumbprint</c> (SHA-256, hex) trusts that one server
/// certificate. Without them, certificates are validated normally.</para>
/// </summary>
public sealed class ApnsBinding : IOutputBinding, IDisposable
{
    private static readonly string[] HeaderKeys = ["apns-push-type", "apns-id", "apns-expiration", "apns-priority", "apns-topic", "apns-collapse-id"];
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(55);

    private readonly HttpClient _client;
    private readonly string _prefix;
    private readonly string _keyId;
    private readonly string _teamId;
    private readonly ECDsa _key;
    private readonly TimeProvider _time;
    private readonly Lock _tokenLock = new();
    private (string Jwt, DateTimeOffset IssuedAt)? _token;

    public ApnsBinding(ComponentDefinition def, TimeProvider time)
    {
        _time = time;
        _keyId = def.Get("key-id") ?? throw Missing(def, "key-id");
        _teamId = def.Get("team-id") ?? throw Missing(def, "team-id");
        var pem = def.Get("private-key") ?? throw Missing(def, "private-key");
        _key = ECDsa.Create();
        try
        {
            _key.ImportFromPem(pem.Replace("\\n", "\n", StringComparison.Ordinal));
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            throw new ComponentLoadException(def.SourceFile, "spec.metadata[private-key]", $"unable to read the private key (expected a PKCS#8 EC PEM): {ex.Message}");
        }

        var endpoint = def.Get("endpoint")
            ?? (def.GetBool("development") ? "https://api.sandbox.push.apple.com" : "https://api.push.apple.com");
        _prefix = endpoint.TrimEnd('/') + "/3/device/";
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false };
        if (def.Get("endpointCertificateThumbprint") is { } thumbprint)
        {
            var pinned = thumbprint.Replace(":", "", StringComparison.Ordinal).ToUpperInvariant();
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
                errors == SslPolicyErrors.None
                || (cert is not null && Convert.ToHexString(SHA256.HashData(cert.GetRawCertData())) == pinned);
        }

        _client = new HttpClient(handler)
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public IReadOnlyList<string> Operations { get; } = ["create"];

    public async Task<BindingResponse> InvokeAsync(BindingRequest request, CancellationToken cancellationToken)
    {
        if (request.Operation != "create")
        {
            throw new BindingException($"operation not supported: {request.Operation}");
        }

        if (!request.Metadata.TryGetValue("device-token", out var deviceToken) || deviceToken.Length == 0)
        {
            throw new BindingException("the device-token parameter is required");
        }

        using var message = new HttpRequestMessage(HttpMethod.Post, _prefix + deviceToken)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(request.Data),
        };
        message.Headers.Authorization = new AuthenticationHeaderValue("bearer", Token());
        foreach (var key in HeaderKeys)
        {
            if (request.Metadata.TryGetValue(key, out var value) && value.Length > 0)
            {
                message.Headers.TryAddWithoutValidation(key, value);
            }
        }

        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(message, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new BindingException($"sending the push notification failed: {ex.Message}");
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var id = response.Headers.TryGetValues("apns-id", out var ids) ? ids.FirstOrDefault() ?? "" : "";
                return new BindingResponse(JsonSerializer.SerializeToUtf8Bytes(new { messageID = id }), new Dictionary<string, string>());
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new BindingException($"APNs answered {(int)response.StatusCode}: {body}");
        }
    }

    /// <summary>The provider token, reused for 55 minutes (Apple refuses tokens older than an hour).</summary>
    private string Token()
    {
        lock (_tokenLock)
        {
            var now = _time.GetUtcNow();
            if (_token is { } t && now - t.IssuedAt < TokenLifetime)
            {
                return t.Jwt;
            }

            var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "ES256", kid = _keyId }));
            var claims = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { iss = _teamId, iat = now.ToUnixTimeSeconds() }));
            var signature = _key.SignData(Encoding.ASCII.GetBytes($"{header}.{claims}"), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            var jwt = $"{header}.{claims}.{Base64Url(signature)}";
            _token = (jwt, now);
            return jwt;
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static ComponentLoadException Missing(ComponentDefinition def, string key) =>
        new(def.SourceFile, $"spec.metadata[{key}]", $"the {key} parameter is required (component '{def.Name}')");

    public void Dispose()
    {
        _client.Dispose();
        _key.Dispose();
    }
}
