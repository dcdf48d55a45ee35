using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Chat.ServiceDefaults.Boundary;

namespace Chat.Gateway;

/// <summary>One request the push sink received: what would have gone to Apple, Google or a browser push service.</summary>
public sealed record SinkedPush(
    long Id,
    string Platform,
    string Path,
    IReadOnlyDictionary<string, string> Headers,
    JsonElement? Json,
    string? BodyBase64,
    DateTimeOffset ReceivedAt);

/// <summary>Push sink settings (<c>Gateway:PushSink…</c>).</summary>
public sealed class PushSinkOptions
{
    /// <summary>How many pushes the sink keeps (the oldest are dropped).</summary>
    public int Capacity { get; set; } = 200;
}

/// <summary>The last pushes the sink received, in memory.</summary>
public sealed class PushSinkStore(Microsoft.Extensions.Options.IOptions<PushSinkOptions> options)
{
    private readonly ConcurrentQueue<SinkedPush> _items = new();
    private long _next;

    public SinkedPush Add(string platform, string path, IReadOnlyDictionary<string, string> headers, byte[] body)
    {
        JsonElement? json = null;
        string? raw = null;
        try
        {
            json = body.Length == 0 ? null : JsonSerializer.Deserialize<JsonElement>(body);
        }
        catch (JsonException)
        {
            // Web Push bodies are aes128gcm ciphertext: kept as base64.
            raw = Convert.ToBase64String(body);
        }

        var item = new SinkedPush(Interlocked.Increment(ref _next), platform, path, headers, json, raw, DateTimeOffset.UtcNow);
        _items.Enqueue(item);
        while (_items.Count > Math.Max(1, options.Value.Capacity) && _items.TryDequeue(out _))
        {
        }

        return item;
    }

    public IReadOnlyList<SinkedPush> Items => [.. _items];

    public void Clear() => _items.Clear();
}

/// <summary>
/// The development push sink: the local component sets point the push bindings here
/// (<c>http://127.0.0.1:5080/dev/push-sink/{apns|fcm|webpush}</c>), so nothing leaves the
/// machine and a developer sees what would have been pushed at <c>GET /dev/push-sink</c>.
/// Mapped only in the Development environment or with <c>Gateway:EnablePushSink=true</c>.
/// </summary>
public static class PushSink
{
    public const string Route = "/dev/push-sink";

    private static readonly HashSet<string> Platforms = new(StringComparer.Ordinal) { "apns", "fcm", "webpush" };

    public static IHostApplicationBuilder AddPushSink(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<PushSinkOptions>(builder.Configuration.GetSection("Gateway:PushSink"));
        builder.Services.AddSingleton<PushSinkStore>();
        return builder;
    }

    public static bool IsEnabled(WebApplication app) =>
        app.Environment.IsDevelopment() || app.Configuration.GetValue<bool>("Gateway:EnablePushSink");

    public static WebApplication MapPushSink(this WebApplication app)
    {
        if (!IsEnabled(app))
        {
            return app;
        }

        // Reached by the push bindings like any outside push service: a client endpoint.
        var sink = app.MapGroup(Route).ForClients();
        sink.MapPost("/{platform}/{**path}", async (string platform, string? path, HttpRequest request, PushSinkStore store) =>
        {
            if (!Platforms.Contains(platform))
            {
                return Results.NotFound(new { error = $"unknown push platform '{platform}' (apns, fcm or webpush)" });
            }

            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
            var headers = request.Headers
                .Where(h => h.Key is not ("Host" or "Content-Length" or "Accept" or "traceparent" or "tracestate"))
                // Lower-case names, as HTTP/2 (and so APNs) carries them.
                .ToDictionary(h => h.Key.ToLowerInvariant(), h => Redact(h.Key, h.Value.ToString()), StringComparer.Ordinal);
            var item = store.Add(platform, "/" + (path ?? ""), headers, buffer.ToArray());
            // Answer as the real service does on success.
            return platform switch
            {
                "apns" => Answer(request.HttpContext, "apns-id", Guid.NewGuid().ToString().ToUpperInvariant(), Results.Ok()),
                "fcm" => Results.Ok(new { name = $"projects/sink/messages/{item.Id}" }),
                _ => Results.Created($"{Route}/webpush/messages/{item.Id}", null),
            };
        });
        sink.MapGet("", (PushSinkStore store) => Results.Json(store.Items, JsonOptions));
        sink.MapDelete("", (PushSinkStore store) =>
        {
            store.Clear();
            return Results.NoContent();
        });
        return app;
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private static IResult Answer(HttpContext http, string header, string value, IResult result)
    {
        http.Response.Headers[header] = value;
        return result;
    }

    /// <summary>Bearer and VAPID credentials are shown shortened: enough to see that one was sent.</summary>
    private static string Redact(string name, string value) =>
        name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) && value.Length > 24
            ? new StringBuilder(value, 0, 24, 27).Append('…').ToString()
            : value;
}
