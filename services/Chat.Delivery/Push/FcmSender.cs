using System.Text.Json;
using System.Text.Json.Nodes;
using Chat.Contracts.V1;
using Chat.Domain;
using Dapr;
using Dapr.Client;
using Google.Apis.Auth.OAuth2;
using Microsoft.Extensions.Options;

namespace Chat.Delivery.Push;

/// <summary>
/// Android pushes through <c>push-fcm</c>, a <c>bindings.http</c> component whose url is the FCM
/// origin: POST <c>/v1/projects/{project}/messages:send</c> with the FCM HTTP v1 JSON and an OAuth2
/// access token as <c>Authorization</c> metadata (bindings.http turns capitalised keys into headers).
/// </summary>
public sealed partial class FcmSender(DaprClient dapr, FcmAccessTokens tokens, IOptionsMonitor<PushOptions> options, ILogger<FcmSender> log) : IPushSender
{
    public PushPlatform Platform => PushPlatform.Fcm;

    public async Task<PushResult> SendAsync(Device device, PushContent content, CancellationToken ct)
    {
        var auth = await tokens.GetAsync(ct);
        var request = new BindingRequest(DaprNames.Bindings.Fcm, "post") { Data = Payload(device.PushToken, content) };
        var path = options.CurrentValue.FcmSendPath;
        if (path.Length > 0)
        {
            request.Metadata["path"] = path.Replace("{projectId}", Uri.EscapeDataString(auth.ProjectId), StringComparison.Ordinal);
        }

        request.Metadata["Content-Type"] = "application/json; charset=utf-8";
        // Read FCM's error body ourselves: through gRPC, a failed binding call only says "status code 404".
        request.Metadata["errorIfNot2XX"] = "false";
        if (auth.AccessToken is { } token)
        {
            request.Metadata["Authorization"] = "Bearer " + token;
        }

        BindingResponse response;
        try
        {
            response = await dapr.InvokeBindingAsync(request, ct);
        }
        catch (DaprException ex)
        {
            return new PushResult(PushOutcome.Failed, BindingErrors.Describe(ex));
        }

        var status = response.Metadata.TryGetValue("statusCode", out var s) && int.TryParse(s, out var code) ? code : 0;
        if (status is >= 200 and < 300)
        {
            return PushResult.Sent;
        }

        var body = System.Text.Encoding.UTF8.GetString(response.Data.Span);
        if (status == 401)
        {
            LogUnauthorized(log, body);
        }

        return new PushResult(IsInvalidToken(status, body) ? PushOutcome.InvalidToken : PushOutcome.Failed, $"FCM answered {status}: {body}");
    }

    /// <summary>
    /// FCM's answer for a token that is gone: 404 with UNREGISTERED (or NOT_FOUND), or 400
    /// INVALID_ARGUMENT about the registration token (a malformed token; other invalid arguments are our bug).
    /// </summary>
    public static bool IsInvalidToken(int status, string body)
    {
        string? errorStatus = null, message = null;
        var codes = new List<string>();
        try
        {
            var error = JsonNode.Parse(body)?["error"];
            errorStatus = error?["status"]?.GetValue<string>();
            message = error?["message"]?.GetValue<string>();
            foreach (var detail in error?["details"]?.AsArray() ?? [])
            {
                if (detail?["errorCode"]?.GetValue<string>() is { } c)
                {
                    codes.Add(c);
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
        }

        return status switch
        {
            404 => codes.Contains("UNREGISTERED") || errorStatus is "NOT_FOUND" || codes.Contains("NOT_FOUND"),
            400 => (codes.Contains("INVALID_ARGUMENT") || errorStatus == "INVALID_ARGUMENT")
                && message?.Contains("registration token", StringComparison.OrdinalIgnoreCase) == true,
            _ => false,
        };
    }

    /// <summary>The FCM HTTP v1 request: notification, collapse per conversation, badge, data for the app.</summary>
    public static byte[] Payload(string token, PushContent content)
    {
        var data = new JsonObject();
        foreach (var (key, value) in content.Data())
        {
            data[key] = value;
        }

        var message = new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["token"] = token,
                ["notification"] = new JsonObject { ["title"] = content.Title, ["body"] = content.Body },
                ["android"] = new JsonObject
                {
                    ["collapse_key"] = content.ConversationId,
                    ["priority"] = "HIGH",
                    ["notification"] = new JsonObject
                    {
                        // A newer notification of the conversation replaces the shown one.
                        ["tag"] = content.ConversationId,
                        ["notification_count"] = content.Badge,
                    },
                },
                ["data"] = data,
            },
        };
        return JsonSerializer.SerializeToUtf8Bytes(message);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "FCM refused the access token: {Body}")]
    private static partial void LogUnauthorized(ILogger logger, string body);
}

/// <summary>An FCM access token (null with the development placeholder secret) and the project to send to.</summary>
public sealed record FcmAuth(string? AccessToken, string ProjectId);

/// <summary>
/// OAuth2 access tokens for FCM, minted by Google.Apis.Auth from the <c>fcm-service-account</c>
/// secret (a service account key JSON): a JWT assertion signed with the account's RSA key is
/// exchanged at the key's <c>token_uri</c>. The credential caches the token and fetches a new one
/// only when it is about to expire.
/// </summary>
public sealed partial class FcmAccessTokens(PushSecrets secrets, IOptionsMonitor<PushOptions> options, ILogger<FcmAccessTokens> log)
{
    public const string Scope = "https://www.googleapis.com/auth/firebase.messaging";

    private readonly SemaphoreSlim _init = new(1, 1);
    private (ITokenAccess? Credential, string ProjectId)? _state;

    public async Task<FcmAuth> GetAsync(CancellationToken ct)
    {
        var (credential, projectId) = _state ?? await InitAsync(ct);
        return new FcmAuth(credential is null ? null : await credential.GetAccessTokenForRequestAsync(cancellationToken: ct), projectId);
    }

    private async Task<(ITokenAccess?, string)> InitAsync(CancellationToken ct)
    {
        await _init.WaitAsync(ct);
        try
        {
            if (_state is { } ready)
            {
                return ready;
            }

            var json = await secrets.GetAsync(DaprNames.Secrets.FcmServiceAccount, ct);
            if (!json.TrimStart().StartsWith('{'))
            {
                // The local sets hold a placeholder: pushes go to the push sink without a token.
                LogPlaceholder(log);
                _state = (null, options.CurrentValue.FcmProjectId);
                return _state.Value;
            }

            var account = CredentialFactory.FromJson<ServiceAccountCredential>(json);
            var credential = GoogleCredential.FromServiceAccountCredential(account).CreateScoped(Scope).UnderlyingCredential;
            var projectId = account.ProjectId ?? options.CurrentValue.FcmProjectId;
            _state = (credential, projectId);
            return _state.Value;
        }
        finally
        {
            _init.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "fcm-service-account is not a service account key (development placeholder): FCM pushes are sent without an access token")]
    private static partial void LogPlaceholder(ILogger logger);
}
