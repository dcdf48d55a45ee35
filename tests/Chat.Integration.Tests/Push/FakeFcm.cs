using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Chat.Integration.Tests.Push;

/// <summary>A message FCM accepted (the whole HTTP v1 request body).</summary>
public sealed record FcmPush(string ProjectId, string Token, JsonElement Message);

/// <summary>
/// Google's side of FCM as a test server. <c>POST /token</c> is the OAuth2 token endpoint of the
/// service account (its <c>token_uri</c>): it takes the JWT bearer grant, checks the assertion's RS256
/// signature with the account's public key and its iss/aud/scope, and answers an access token
/// with <c>expires_in</c>. <c>POST /v1/projects/{project}/messages:send</c> checks the bearer token
/// and the v1 JSON, and answers FCM's errors for unknown (404 UNREGISTERED) tokens.
/// </summary>
public sealed class FakeFcm : FakeServer
{
    public const string ProjectId = "chat-test-project";
    public const string ClientEmail = "push@chat-test-project.iam.gserviceaccount.com";

    private readonly RSA _accountKey = RSA.Create(2048);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _issued = new(StringComparer.Ordinal);
    private int _tokenRequests;

    public ConcurrentQueue<FcmPush> Pushes { get; } = new();

    /// <summary>Registration tokens FCM no longer knows (404 UNREGISTERED).</summary>
    public ConcurrentDictionary<string, bool> Unregistered { get; } = new();

    /// <summary>Strings that are not FCM registration tokens at all (400 INVALID_ARGUMENT).</summary>
    public ConcurrentDictionary<string, bool> Malformed { get; } = new();

    public int TokenRequests => Volatile.Read(ref _tokenRequests);

    public IEnumerable<FcmPush> To(string token) => Pushes.Where(p => p.Token == token);

    public static async Task<FakeFcm> StartAsync()
    {
        var fake = new FakeFcm();
        await fake.StartServerAsync();
        return fake;
    }

    /// <summary>A service account key file as the Firebase console downloads it, pointing at this server for tokens.</summary>
    public string ServiceAccountJson() => JsonSerializer.Serialize(new Dictionary<string, string>
    {
        ["type"] = "service_account",
        ["project_id"] = ProjectId,
        ["private_key_id"] = "0123456789abcdef",
        ["private_key"] = _accountKey.ExportPkcs8PrivateKeyPem(),
        ["client_email"] = ClientEmail,
        ["client_id"] = "1234567890",
        ["auth_uri"] = "https://accounts.google.com/o/oauth2/auth",
        ["token_uri"] = Origin + "/token",
    });

    protected override void Map(WebApplication app)
    {
        app.MapPost("/token", async (HttpRequest request) =>
        {
            Interlocked.Increment(ref _tokenRequests);
            var form = await request.ReadFormAsync();
            if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer")
            {
                Problem("token request with grant_type " + form["grant_type"]);
                return Results.Json(new { error = "unsupported_grant_type" }, statusCode: 400);
            }

            var verified = Jws.Verify(form["assertion"].ToString(), Jws.Rs256(_accountKey));
            if (verified is not { } v
                || v.Claims.GetProperty("iss").GetString() != ClientEmail
                // Google wants this audience whatever URL the assertion is posted to.
                || v.Claims.GetProperty("aud").GetString() != "https://oauth2.googleapis.com/token"
                || !(v.Claims.GetProperty("scope").GetString() ?? "").Split(' ').Contains("https://www.googleapis.com/auth/firebase.messaging")
                || v.Claims.GetProperty("exp").GetInt64() < DateTimeOffset.UtcNow.ToUnixTimeSeconds())
            {
                Problem("token request with a bad assertion: " + (verified is { } bad ? bad.Header + " " + bad.Claims : "signature does not verify"));
                return Results.Json(new { error = "invalid_grant", error_description = "Invalid JWT Signature." }, statusCode: 400);
            }

            var token = "ya29.fake-" + Guid.NewGuid().ToString("N");
            _issued[token] = DateTimeOffset.UtcNow.AddHours(1);
            return Results.Json(new { access_token = token, expires_in = 3599, token_type = "Bearer" });
        });

        app.MapPost("/v1/projects/{project}/messages:send", async (string project, HttpRequest request) =>
        {
            var auth = request.Headers.Authorization.ToString();
            if (!auth.StartsWith("Bearer ", StringComparison.Ordinal) || !_issued.TryGetValue(auth[7..], out var expiry) || expiry < DateTimeOffset.UtcNow)
            {
                Problem("FCM send without a valid access token: " + auth);
                return Error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", null);
            }

            JsonElement body;
            string token;
            try
            {
                body = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body);
                var message = body.GetProperty("message");
                token = message.GetProperty("token").GetString() ?? "";
                _ = message.GetProperty("notification").GetProperty("title").GetString();
                _ = message.GetProperty("android").GetProperty("collapse_key").GetString();
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                Problem("FCM request that is not v1 JSON: " + ex.Message);
                return Error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.", "INVALID_ARGUMENT");
            }

            if (Malformed.ContainsKey(token))
            {
                return Error(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", "INVALID_ARGUMENT");
            }

            if (Unregistered.ContainsKey(token))
            {
                return Error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED");
            }

            Pushes.Enqueue(new FcmPush(project, token, body.GetProperty("message")));
            return Results.Json(new { name = $"projects/{project}/messages/{Guid.NewGuid():N}" });
        });
    }

    private static IResult Error(int code, string status, string message, string? errorCode) => Results.Json(new
    {
        error = new
        {
            code,
            message,
            status,
            details = errorCode is null
                ? Array.Empty<object>()
                : [new Dictionary<string, string> { ["@type"] = "type.googleapis.com/google.firebase.fcm.v1.FcmError", ["errorCode"] = errorCode }],
        },
    }, statusCode: code);
}
