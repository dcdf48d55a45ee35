using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Chat.Integration.Tests.Push;

/// <summary>A browser-side subscription: the keys a browser generates and keeps (the private key never leaves it).</summary>
public sealed class BrowserSubscription(string endpoint) : IDisposable
{
    public string Endpoint { get; } = endpoint;

    public ECDiffieHellman Key { get; } = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    public byte[] AuthSecret { get; } = RandomNumberGenerator.GetBytes(16);

    public string P256dh => Jws.ToBase64Url(Jws.UncompressedPoint(Key));

    public string Auth => Jws.ToBase64Url(AuthSecret);

    public void Dispose() => Key.Dispose();
}

/// <summary>A message the push service accepted, decrypted as the browser would.</summary>
public sealed record WebPushMessage(string SubscriptionId, IReadOnlyDictionary<string, string> Headers, JsonElement Payload);

/// <summary>
/// A browser push service as a test server (RFC 8030): <c>POST /push/{id}</c> checks the VAPID
/// <c>Authorization: vapid t=…, k=…</c> (ES256 JWT signed by the key <c>k</c>, which must be the
/// application server's key, with aud = this origin), the TTL header and aes128gcm encoding, then
/// decrypts the body with the subscription's private key and auth secret (RFC 8291). Answers 201,
/// or 410 Gone for an expired subscription.
/// </summary>
public sealed class FakeWebPush : FakeServer
{
    private readonly ConcurrentDictionary<string, BrowserSubscription> _subscriptions = new(StringComparer.Ordinal);

    public FakeWebPush(string vapidPublicKey) => VapidPublicKey = vapidPublicKey;

    /// <summary>The application server key (base64url uncompressed point) pushes must be signed with.</summary>
    public string VapidPublicKey { get; }

    public ConcurrentQueue<WebPushMessage> Pushes { get; } = new();

    /// <summary>Subscriptions the browser dropped (410 Gone).</summary>
    public ConcurrentDictionary<string, bool> Expired { get; } = new();

    public static async Task<FakeWebPush> StartAsync(string vapidPublicKey)
    {
        var fake = new FakeWebPush(vapidPublicKey);
        await fake.StartServerAsync();
        return fake;
    }

    /// <summary>A new subscription on this push service, with its browser-side keys.</summary>
    public (string Id, BrowserSubscription Subscription) Subscribe()
    {
        var id = Guid.NewGuid().ToString("N");
        var sub = new BrowserSubscription($"{Origin}/push/{id}");
        _subscriptions[id] = sub;
        return (id, sub);
    }

    public IEnumerable<WebPushMessage> To(string id) => Pushes.Where(p => p.SubscriptionId == id);

    protected override void Map(WebApplication app) =>
        app.MapPost("/push/{id}", async (string id, HttpRequest request) =>
        {
            if (!_subscriptions.TryGetValue(id, out var sub))
            {
                return Results.NotFound();
            }

            var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            if (!CheckVapid(headers.GetValueOrDefault("Authorization") ?? ""))
            {
                return Results.StatusCode(StatusCodes.Status403Forbidden);
            }

            if (!int.TryParse(headers.GetValueOrDefault("TTL"), out _))
            {
                Problem("Web Push request without TTL");
                return Results.BadRequest();
            }

            if (headers.GetValueOrDefault("Content-Encoding") != "aes128gcm")
            {
                Problem("Web Push body not aes128gcm: " + headers.GetValueOrDefault("Content-Encoding"));
                return Results.StatusCode(StatusCodes.Status415UnsupportedMediaType);
            }

            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            JsonElement payload;
            try
            {
                payload = JsonSerializer.Deserialize<JsonElement>(Decrypt(buffer.ToArray(), sub));
            }
            catch (Exception ex) when (ex is CryptographicException or JsonException or ArgumentException)
            {
                Problem("Web Push body does not decrypt: " + ex.Message);
                return Results.BadRequest();
            }

            if (Expired.ContainsKey(id))
            {
                return Results.StatusCode(StatusCodes.Status410Gone);
            }

            Pushes.Enqueue(new WebPushMessage(id, headers, payload));
            request.HttpContext.Response.Headers.Location = $"{Origin}/message/{Guid.NewGuid():N}";
            return Results.StatusCode(StatusCodes.Status201Created);
        });

    private bool CheckVapid(string authorization)
    {
        // vapid t=<jwt>, k=<key>
        if (!authorization.StartsWith("vapid ", StringComparison.Ordinal))
        {
            Problem("Web Push Authorization is not the vapid scheme: " + authorization);
            return false;
        }

        var parameters = authorization[6..].Split(',').Select(p => p.Trim().Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        var k = parameters.GetValueOrDefault("k") ?? "";
        if (k != VapidPublicKey)
        {
            Problem("VAPID k is not the application server key: " + k);
            return false;
        }

        using var key = ECDsa.Create(Jws.PublicFromPoint(Jws.FromBase64Url(k)));
        var verified = Jws.Verify(parameters.GetValueOrDefault("t") ?? "", Jws.Es256(key));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (verified is not { } v
            || v.Claims.GetProperty("aud").GetString() != Origin
            || v.Claims.GetProperty("exp").GetInt64() is var exp && (exp < now || exp > now + (24 * 3600))
            || !(v.Claims.GetProperty("sub").GetString() ?? "").StartsWith("mailto:", StringComparison.Ordinal))
        {
            Problem("VAPID JWT rejected: " + authorization);
            return false;
        }

        return true;
    }

    /// <summary>RFC 8291 (on RFC 8188 aes128gcm) decryption, as the browser does it.</summary>
    public static byte[] Decrypt(byte[] body, BrowserSubscription sub)
    {
        // Header: salt (16) | record size (4) | key id length (1) | key id (the sender's ephemeral public key).
        var salt = body[..16];
        var recordSize = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(16, 4));
        int idLength = body[20];
        var senderPoint = body[21..(21 + idLength)];
        var ciphertext = body[(21 + idLength)..];
        if (idLength != 65 || ciphertext.Length > recordSize)
        {
            throw new CryptographicException($"unexpected header: keyid {idLength} bytes, record size {recordSize}, {ciphertext.Length} bytes of ciphertext");
        }

        using var sender = ECDiffieHellman.Create(Jws.PublicFromPoint(senderPoint));
        var ecdhSecret = sub.Key.DeriveRawSecretAgreement(sender.PublicKey);
        var keyInfo = Encoding.ASCII.GetBytes("WebPush: info\0").Concat(Jws.UncompressedPoint(sub.Key)).Concat(senderPoint).ToArray();
        var ikm = HKDF.DeriveKey(HashAlgorithmName.SHA256, ecdhSecret, 32, sub.AuthSecret, keyInfo);
        var prk = HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt);
        var cek = HKDF.Expand(HashAlgorithmName.SHA256, prk, 16, Encoding.ASCII.GetBytes("Content-Encoding: aes128gcm\0"));
        var nonce = HKDF.Expand(HashAlgorithmName.SHA256, prk, 12, Encoding.ASCII.GetBytes("Content-Encoding: nonce\0"));

        // One record: ciphertext | 16-byte tag; the plaintext ends with the delimiter 0x02 and zero padding.
        var plain = new byte[ciphertext.Length - 16];
        using (var aes = new AesGcm(cek, 16))
        {
            aes.Decrypt(nonce, ciphertext[..^16], ciphertext[^16..], plain);
        }

        var end = plain.Length - 1;
        while (end >= 0 && plain[end] == 0)
        {
            end--;
        }

        if (end < 0 || plain[end] != 0x02)
        {
            throw new CryptographicException("no last-record delimiter");
        }

        return plain[..end];
    }
}
