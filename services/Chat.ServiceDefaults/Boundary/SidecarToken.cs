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

    /// <summary>Whether <paramref name="presented"/> is <paramref name="expected"/>, in constant time.</summary>
    public static bool Matches(string? presented, string expected)
    {
        if (presented is null)
        {
            return false;
        }

        // Hash first so the comparison also takes the same time whatever the lengths are.
        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
    }
}
