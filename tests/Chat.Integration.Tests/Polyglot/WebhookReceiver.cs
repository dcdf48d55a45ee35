using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Chat.Integration.Tests.Push;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Chat.Integration.Tests.Polyglot;

/// <summary>How a test webhook answers.</summary>
public enum HookMode
{
    /// <summary>200 with {"text": "echo: …"}.</summary>
    Echo,

    /// <summary>500 every time.</summary>
    Fail,

    /// <summary>Holds every request open until <see cref="WebhookReceiver.Release"/> (or the caller gives up).</summary>
    Hang,
}

/// <summary>One request a webhook received, with the outcome of its signature check.</summary>
public sealed record HookCall(string Bot, bool SignatureValid, JsonElement Body, string DeliveryId, DateTimeOffset At);

/// <summary>
/// Bot webhooks as a bot developer would write them: a local HTTP server under /hooks/{bot}
/// that checks X-Chat-Signature (HMAC-SHA256 of "v1:{timestamp}:{body}" with the bot's secret)
/// and the timestamp's age, as README "Writing a bot" says.
/// </summary>
public sealed class WebhookReceiver : FakeServer
{
    private readonly ConcurrentDictionary<string, (string Secret, HookMode Mode)> _bots = new();
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<HookCall> Calls { get; } = new();

    /// <summary>Requests whose handling finished (answered), per bot.</summary>
    public ConcurrentDictionary<string, int> Completed { get; } = new();

    /// <summary>The base every webhook lies under: the bots app's binding URL and directory's allow-list.</summary>
    public string BaseUrl => Origin + "/hooks/";

    public string UrlOf(string bot) => BaseUrl + bot;

    public void Register(string bot, string secret, HookMode mode) => _bots[bot] = (secret, mode);

    public void Release() => _release.TrySetResult();

    public IEnumerable<HookCall> CallsOf(string bot) => Calls.Where(c => c.Bot == bot);

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        await receiver.StartServerAsync();
        return receiver;
    }

    protected override void Map(WebApplication app) => app.MapPost("/hooks/{bot}", HandleAsync);

    /// <summary>The check a bot makes: the signature over the raw body, and a timestamp no more than 5 minutes off.</summary>
    public static bool Verify(string secret, string? timestamp, string? signature, byte[] body)
    {
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - seconds) > 300 || signature is null)
        {
            return false;
        }

        var signed = Encoding.UTF8.GetBytes($"v1:{timestamp}:").Concat(body).ToArray();
        var expected = "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature));
    }

    private async Task<IResult> HandleAsync(string bot, HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        var body = buffer.ToArray();
        if (!_bots.TryGetValue(bot, out var hook))
        {
            return Results.NotFound();
        }

        var valid = Verify(hook.Secret, request.Headers["X-Chat-Request-Timestamp"], request.Headers["X-Chat-Signature"], body);
        var json = JsonDocument.Parse(body).RootElement.Clone();
        Calls.Enqueue(new HookCall(bot, valid, json, request.Headers["X-Chat-Delivery-Id"].ToString(), DateTimeOffset.UtcNow));
        try
        {
            if (!valid)
            {
                return Results.Unauthorized();
            }

            switch (hook.Mode)
            {
                case HookMode.Fail:
                    return Results.StatusCode(500);
                case HookMode.Hang:
                    await _release.Task.WaitAsync(request.HttpContext.RequestAborted);
                    return Results.NoContent();
                default:
                    return Results.Json(new { text = "echo: " + json.GetProperty("message").GetProperty("text").GetString() });
            }
        }
        finally
        {
            Completed.AddOrUpdate(bot, 1, (_, n) => n + 1);
        }
    }
}
