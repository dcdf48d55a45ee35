using System.Text;
using System.Text.Json;
using Dapr.DevSidecar.Actors;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Dapr.DevSidecar.Api;

/// <summary>
/// daprd's actor HTTP API (<c>/v1.0/actors/{actorType}/{actorId}/…</c>), as Dapr.Actors uses it:
/// invoke (remoting and JSON), state get and transaction, reminders and timers. daprd takes
/// POST and PUT alike on the write routes.
/// </summary>
public static partial class HttpApi
{
    static partial void MapActors(RouteGroupBuilder v1, SidecarContext context)
    {
        var actors = v1.MapGroup("/actors/{actorType}/{actorId}");
        actors.MapMethods("/method/{method}", ["GET", "POST", "PUT", "DELETE"], (HttpContext http, ActorApi api, string actorType, string actorId, string method) =>
            DaprErrors.Http(async () =>
            {
                var body = await ReadBodyAsync(http.Request);
                var headers = http.Request.Headers.Select(h => new KeyValuePair<string, string[]>(h.Key, h.Value.Where(v => v is not null).ToArray()!));
                var reentrancy = http.Request.Headers[ActorHost.ReentrancyHeader].ToString();
                var response = await api.InvokeAsync(actorType, actorId, method, body, http.Request.ContentType, headers,
                    string.IsNullOrEmpty(reentrancy) ? null : reentrancy, http.RequestAborted);
                return new AppAnswer(response);
            }));

        actors.MapGet("/state/{key}", (ActorApi api, string actorType, string actorId, string key, HttpContext http) =>
            DaprErrors.Http(async () =>
            {
                var entry = await api.GetStateAsync(actorType, actorId, key, http.RequestAborted);
                if (entry is null || entry.Value.Length == 0)
                {
                    return Results.NoContent();
                }

                foreach (var (name, value) in StateApi.ResponseMetadata(entry))
                {
                    http.Response.Headers["metadata." + name] = value;
                }

                return Results.Bytes(entry.Value, "application/json");
            }));

        actors.MapMethods("/state", ["POST", "PUT"], (ActorApi api, string actorType, string actorId, HttpContext http) =>
            DaprErrors.Http(async () =>
            {
                var ops = ParseTransaction(await ReadBodyAsync(http.Request));
                await api.TransactAsync(actorType, actorId, ops, http.RequestAborted);
                return Results.NoContent();
            }));

        actors.MapMethods("/reminders/{name}", ["POST", "PUT"], (ActorApi api, string actorType, string actorId, string name, HttpContext http) =>
            DaprErrors.Http(async () =>
            {
                var body = Parse(await ReadBodyAsync(http.Request));
                await api.CreateReminderAsync(actorType, actorId, name, Str(body, "dueTime"), Str(body, "period"), Str(body, "ttl"), Raw(body, "data"), http.RequestAborted);
                return Results.NoContent();
            }));

        actors.MapGet("/reminders/{name}", (ActorApi api, string actorType, string actorId, string name, HttpContext http) =>
            DaprErrors.Http(async () =>
            {
                var reminder = await api.GetReminderAsync(actorType, actorId, name, http.RequestAborted);
                var (dueTime, period, ttl) = ActorApi.Describe(reminder);
                using var stream = new MemoryStream();
                using (var w = new Utf8JsonWriter(stream))
                {
                    w.WriteStartObject();
                    w.WriteString("actorID", reminder.ActorId);
                    w.WriteString("actorType", reminder.ActorType);
                    if (reminder.Data is { } data)
                    {
                        w.WritePropertyName("data");
                        data.WriteTo(w);
                    }

                    WriteIfSet(w, "dueTime", dueTime);
                    WriteIfSet(w, "period", period);
                    WriteIfSet(w, "ttl", ttl);
                    w.WriteEndObject();
                }

                return Results.Bytes(stream.ToArray(), "application/json");
            }));

        actors.MapDelete("/reminders/{name}", (ActorApi api, string actorType, string actorId, string name, HttpContext http) =>
            DaprErrors.Http(async () =>
            {
                await api.DeleteReminderAsync(actorType, actorId, name, http.RequestAborted);
                return Results.NoContent();
            }));

        actors.MapMethods("/timers/{name}", ["POST", "PUT"], (ActorApi api, string actorType, string actorId, string name, HttpContext http) =>
            DaprErrors.Http(async () =>
            {
                var body = Parse(await ReadBodyAsync(http.Request));
                await api.CreateTimerAsync(actorType, actorId, name, Str(body, "dueTime"), Str(body, "period"), Str(body, "ttl"), Str(body, "callback"), Raw(body, "data"));
                return Results.NoContent();
            }));

        actors.MapDelete("/timers/{name}", (ActorApi api, string actorType, string actorId, string name) =>
            DaprErrors.Http(async () =>
            {
                await api.DeleteTimerAsync(actorType, actorId, name);
                return Results.NoContent();
            }));
    }

    private static void WriteIfSet(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        return buffer.ToArray();
    }

    private static JsonElement Parse(byte[] body)
    {
        if (body.Length == 0)
        {
            throw ActorErrors.Malformed("EOF");
        }

        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.Clone();
    }

    // Go's encoding/json matches field names case-insensitively; daprd's handlers do too.
    private static JsonElement? Field(JsonElement e, string name)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
            {
                if (p.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return p.Value;
                }
            }
        }

        return null;
    }

    private static string? Str(JsonElement e, string name) => Field(e, name) switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        null or { ValueKind: JsonValueKind.Null } => null,
        { } other => throw ActorErrors.Malformed($"json: cannot unmarshal {other.ValueKind} into field {name} of type string"),
    };

    private static string? Raw(JsonElement e, string name) =>
        Field(e, name) is { } v && v.ValueKind != JsonValueKind.Null ? v.GetRawText() : null;

    private static List<ActorStateOperation> ParseTransaction(byte[] body)
    {
        var root = Parse(body);
        if (root.ValueKind != JsonValueKind.Array)
        {
            throw ActorErrors.Malformed($"json: cannot unmarshal {root.ValueKind} into a list of operations");
        }

        var ops = new List<ActorStateOperation>();
        foreach (var item in root.EnumerateArray())
        {
            var request = Field(item, "request");
            if (request is not { ValueKind: JsonValueKind.Object } r)
            {
                throw ActorErrors.StateTransaction("request data is empty");
            }

            Dictionary<string, string>? metadata = null;
            if (Field(r, "metadata") is { ValueKind: JsonValueKind.Object } md)
            {
                metadata = md.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText(), StringComparer.Ordinal);
            }

            var value = Field(r, "value") is { } v ? Encoding.UTF8.GetBytes(v.GetRawText()) : null;
            ops.Add(new ActorStateOperation(Str(item, "operation") ?? "", Str(r, "key") ?? "", value, Str(r, "etag"), metadata));
        }

        return ops;
    }

    /// <summary>The app's answer to an actor call, passed back with its status, headers and body, as daprd does.</summary>
    private sealed class AppAnswer(ActorAppResponse response) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = response.StatusCode;
            foreach (var (name, values) in response.Headers)
            {
                http.Response.Headers.Append(name, values);
            }

            if (response.ContentType is not null)
            {
                http.Response.ContentType = response.ContentType;
            }

            await http.Response.Body.WriteAsync(response.Body, http.RequestAborted);
        }
    }
}
