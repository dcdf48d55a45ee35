using System.Security.Cryptography;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>
/// The two tokens between an app and its sidecar, random per instance as the dev sidecar's
/// run makes them: DAPR_API_TOKEN (app → sidecar) and APP_API_TOKEN (sidecar → app).
/// </summary>
public sealed class SidecarTokens
{
    public const string Header = "dapr-api-token";

    public string DaprApiToken { get; } = New();

    public string AppApiToken { get; } = New();

    public static string New() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
}
