using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapr.DevSidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using System.Security.Cryptography.X509Certificates;

namespace Chat.Integration.Tests.Push;

/// <summary>A Kestrel server on a free loopback port standing in for a push service.</summary>
public abstract class FakeServer : IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>Everything the fake found wrong in a request (a wrong signature, a missing header...).</summary>
    public ConcurrentQueue<string> Problems { get; } = new();

    public string Origin { get; private set; } = "";

    protected abstract void Map(WebApplication app);

    protected async Task StartServerAsync(X509Certificate2? certificate = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = SidecarHost.FreePort();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l =>
            {
                if (certificate is null)
                {
                    l.Protocols = HttpProtocols.Http1;
                }
                else
                {
                    // APNs speaks HTTP/2 over TLS only.
                    l.Protocols = HttpProtocols.Http2;
                    l.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = certificate });
                }
            }));
            var app = builder.Build();
            Map(app);
            try
            {
                await app.StartAsync();
                _app = app;
                Origin = $"{(certificate is null ? "http" : "https")}://127.0.0.1:{port}";
                return;
            }
            catch (IOException) when (attempt < 3)
            {
                await app.DisposeAsync();
            }
        }
    }

    protected void Problem(string what) => Problems.Enqueue(what);

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>JWS checks as the push services make them.</summary>
public static class Jws
{
    /// <summary>Verifies a compact JWS; returns its header and claims, or null when the signature is wrong.</summary>
    public static (JsonElement Header, JsonElement Claims)? Verify(string jwt, Func<string, byte[], byte[], bool> verify)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        var header = JsonSerializer.Deserialize<JsonElement>(FromBase64Url(parts[0]));
        var alg = header.TryGetProperty("alg", out var a) ? a.GetString() ?? "" : "";
        if (!verify(alg, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), FromBase64Url(parts[2])))
        {
            return null;
        }

        return (header, JsonSerializer.Deserialize<JsonElement>(FromBase64Url(parts[1])));
    }

    public static Func<string, byte[], byte[], bool> Es256(ECDsa key) => (alg, data, sig) =>
        alg == "ES256" && key.VerifyData(data, sig, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public static Func<string, byte[], byte[], bool> Rs256(RSA key) => (alg, data, sig) =>
        alg == "RS256" && key.VerifyData(data, sig, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    public static byte[] FromBase64Url(string s)
    {
        var b = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(b.PadRight(b.Length + ((4 - (b.Length % 4)) % 4), '='));
    }

    public static string ToBase64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>A P-256 public key as the uncompressed point (0x04 | X | Y) Web Push uses.</summary>
    public static byte[] UncompressedPoint(ECDsa key)
    {
        var p = key.ExportParameters(false).Q;
        return [0x04, .. p.X!, .. p.Y!];
    }

    public static byte[] UncompressedPoint(ECDiffieHellman key)
    {
        var p = key.ExportParameters(false).Q;
        return [0x04, .. p.X!, .. p.Y!];
    }

    public static ECParameters PublicFromPoint(byte[] point) => new()
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint { X = point[1..33], Y = point[33..65] },
    };
}
