using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace Chat.ServiceDefaults.Boundary;

/// <summary>
/// The app token (APP_API_TOKEN) the app's Dapr sidecar sends as <c>dapr-api-token</c> on every
/// call into the app. Only the sidecar knows it, so a call with it came through the sidecar.
/// Shared by the HTTP check (<see cref="SidecarBoundaryMiddleware"/>) and the gRPC one
/// (<see cref="Auth.ChatAuthInterceptor"/>).
/// </summary>
public static class SidecarToken
{
    /// <summary>The header (gRPC metadata key) daprd sends the app token in.</summary>
    public const string Header = "dapr-api-token";

    /// <summary>The configured app token, or null when the app runs without one.</summary>
    public static string? Configured(IConfiguration configuration) =>
        configuration["APP_API_TOKEN"] is { Length: > 0 } token ? token : null;

    /// <summary>The SHA-256 of a token, to compare presented tokens against with <see cref="Matches"/>.</summary>
    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>
    /// Whether <paramref name="presented"/> is the token whose <see cref="Hash"/> is
    /// <paramref name="expectedHash"/>, in constant time. The expected side is hashed once, not on
    /// every callback (two SHA-256s per call had been 3% of the router's CPU).
    /// </summary>
    public static bool Matches(string? presented, ReadOnlySpan<byte> expectedHash)
    {
        if (presented is null)
        {
            return false;
        }

        // Hash first so the comparison also takes the same time whatever the lengths are.
        const int StackLimit = 256;
        var length = Encoding.UTF8.GetMaxByteCount(presented.Length);
        var rented = length > StackLimit ? ArrayPool<byte>.Shared.Rent(length) : null;
        try
        {
            Span<byte> utf8 = rented ?? stackalloc byte[StackLimit];
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(utf8[..Encoding.UTF8.GetBytes(presented, utf8)], hash);
            return CryptographicOperations.FixedTimeEquals(hash, expectedHash);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
