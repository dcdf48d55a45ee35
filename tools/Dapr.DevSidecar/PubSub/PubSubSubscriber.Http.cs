using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.PubSub;

/// <summary>One delivery to an app with app protocol http, its answer read as daprd reads it.</summary>
public sealed partial class PubSubSubscriber
{
    private async Task<Outcome> DeliverOnceAsync(Subscription sub, string path, byte[] body, JsonObject cloudEvent, CancellationToken ct)
    {
        if (IsGrpcApp)
        {
            return await DeliverOnceGrpcAsync(sub, path, cloudEvent, ct);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", CloudEvents.ContentType);
        if (cloudEvent["traceparent"] is JsonValue traceParent && traceParent.TryGetValue<string>(out var tp) && tp.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("traceparent", tp);
        }

        HttpResponseMessage response;
        try
        {
            response = await _app.SendAsync(request, ct);
        }
        catch (HttpRequestException ex)
        {
            Log.DeliveryFailed(_log, sub, cloudEvent["id"], path, ex.Message);
            return Outcome.Retry;
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (status is >= 200 and <= 299)
            {
                var answer = await response.Content.ReadAsByteArrayAsync(ct);
                switch (ReadAppStatus(answer))
                {
                    case null or "" or "SUCCESS":
                        // An empty or unparsable body, or no status, counts as success, as in daprd.
                        return Outcome.Success;
                    case "DROP":
                        Log.AppDropped(_log, sub, cloudEvent["id"]);
                        return Outcome.Drop;
                    case "RETRY":
                        return Outcome.Retry;
                    case var other:
                        Log.UnknownStatus(_log, sub, other, cloudEvent["id"]);
                        return Outcome.Retry;
                }
            }

            if (status == 404)
            {
                Log.AppNotFound(_log, sub, cloudEvent["id"], path);
                return Outcome.Drop;
            }

            Log.AppFailed(_log, sub, status, cloudEvent["id"], await response.Content.ReadAsStringAsync(ct));
            return Outcome.Retry;
        }
    }

    /// <summary>The <c>status</c> of a single delivery's answer; null for an empty or unreadable body.</summary>
    private static string? ReadAppStatus(byte[] answer)
    {
        if (answer.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(answer);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String
                ? s.GetString() : "";
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
