using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dapr.DevSidecar.PubSub;

/// <summary>
/// Bulk subscriptions, on daprd's wire format (<c>pkg/runtime/subscription/bulksubscription.go</c>,
/// <c>postman/http</c>): messages are batched per subscription (<see cref="BulkBatcher{T}"/>), and each
/// batch is POSTed to the route as one JSON envelope <c>{id, type, topic, pubsubname, metadata,
/// entries:[{entryId, event, metadata, contentType}]}</c>; the app answers
/// <c>{"statuses":[{"entryId","status"}]}</c>. SUCCESS acknowledges an entry, DROP dead-letters it,
/// RETRY (or a missing or unknown status) sends it again in the next try, per the retry policy.
/// A non-2xx answer, an unreachable app, or a 2xx body that is empty or not that JSON retries every
/// entry; 404 drops every entry (without dead-lettering, as daprd's bulk path does).
/// </summary>
public sealed partial class PubSubSubscriber
{
    /// <summary>daprd's type for the bulk envelope (components-contrib <c>DefaultBulkEventType</c>).</summary>
    public const string BulkEventType = "com.dapr.event.sent.bulk";

    private const string OctetStream = "application/octet-stream";

    private readonly List<IAsyncDisposable> _batchers = [];

    /// <summary>One message of a bulk subscription, waiting for its batch's outcome.</summary>
    private sealed class BulkEntry(PubSubMessage message)
    {
        public PubSubMessage Message { get; } = message;

        public string EntryId { get; } = Guid.NewGuid().ToString();

        /// <summary>Completes when the entry is acknowledged (delivered, dropped or dead-lettered); cancelled when left for redelivery.</summary>
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public JsonObject? CloudEvent { get; set; }

        public Outcome Outcome { get; set; }
    }

    /// <summary>The broker handler of a bulk subscription: queues the message and waits for its batch.</summary>
    private PubSubHandler BulkHandler(Subscription sub, IPubSub pubsub, DeliveryRetryPolicy policy)
    {
        var options = sub.Bulk!;
        var batcher = new BulkBatcher<BulkEntry>(options.MaxMessagesCount, options.MaxAwaitDuration,
            (batch, ct) => FlushBulkAsync(sub, pubsub, policy, batch, ct), e => e.Done.TrySetCanceled(), _time);
        lock (_active)
        {
            _batchers.Add(batcher);
        }

        return async (message, brokerToken) =>
        {
            var entry = new BulkEntry(message);
            if (!batcher.TryAdd(entry))
            {
                throw new OperationCanceledException("the subscription is stopping");
            }

            // A broker timeout (redis processingTimeout) leaves the message unacknowledged, as for single delivery.
            await entry.Done.Task.WaitAsync(brokerToken);
        };
    }

    private async Task FlushBulkAsync(Subscription sub, IPubSub pubsub, DeliveryRetryPolicy policy, BulkEntry[] batch, CancellationToken batcherToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(batcherToken, _stop.Token);
        var ct = linked.Token;
        try
        {
            // daprd sends one request per route path.
            var byPath = new Dictionary<string, List<BulkEntry>>(1, StringComparer.Ordinal);
            foreach (var entry in batch)
            {
                if (!TryRoute(sub, entry.Message, out var cloudEvent, out var path))
                {
                    await DeadLetterAsync(sub, pubsub, entry.Message, ct);
                    entry.Done.TrySetResult();
                    continue;
                }

                entry.CloudEvent = cloudEvent;
                if (!byPath.TryGetValue(path, out var list))
                {
                    byPath[path] = list = new List<BulkEntry>(batch.Length);
                }

                list.Add(entry);
            }

            foreach (var (path, entries) in byPath)
            {
                await DeliverBulkAsync(sub, pubsub, policy, path, entries, ct);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: what is not acknowledged stays with the broker (redis redelivers it).
        }
        catch (Exception ex)
        {
            Log.BulkFailed(_log, sub, ex.Message);
        }
        finally
        {
            foreach (var entry in batch)
            {
                entry.Done.TrySetCanceled(CancellationToken.None);
            }
        }
    }

    private async Task DeliverBulkAsync(Subscription sub, IPubSub pubsub, DeliveryRetryPolicy policy, string path, List<BulkEntry> entries, CancellationToken ct)
    {
        for (var retry = 0; ; retry++)
        {
            if (retry > 0)
            {
                await Task.Delay(policy.DelayBefore(retry), _time, ct);
            }

            await _gate.WaitAsync(ct);
            try
            {
                await DeliverBulkOnceAsync(sub, path, entries, ct);
            }
            finally
            {
                _gate.Release();
            }

            var again = new List<BulkEntry>();
            foreach (var entry in entries)
            {
                switch (entry.Outcome)
                {
                    case Outcome.Retry:
                        again.Add(entry);
                        continue;
                    case Outcome.Drop:
                        await DeadLetterAsync(sub, pubsub, entry.Message, ct);
                        break;
                }

                entry.Done.TrySetResult();
            }

            if (again.Count == 0)
            {
                return;
            }

            if (!policy.Allows(retry + 1))
            {
                Log.BulkRetriesExhausted(_log, sub, again.Count, retry);
                foreach (var entry in again)
                {
                    await DeadLetterAsync(sub, pubsub, entry.Message, ct);
                    entry.Done.TrySetResult();
                }

                return;
            }

            entries = again;
        }
    }

    /// <summary>One POST of <paramref name="entries"/>; sets each entry's <see cref="BulkEntry.Outcome"/>.</summary>
    private async Task DeliverBulkOnceAsync(Subscription sub, string path, List<BulkEntry> entries, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ReadOnlyMemoryContent(BulkEnvelope(sub, entries)) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");

        HttpResponseMessage response;
        try
        {
            response = await _app.SendAsync(request, ct);
        }
        catch (HttpRequestException ex)
        {
            Log.BulkDeliveryFailed(_log, sub, entries.Count, path, ex.Message);
            SetAll(entries, Outcome.Retry);
            return;
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (status is >= 200 and <= 299)
            {
                var answer = await response.Content.ReadAsByteArrayAsync(ct);
                if (!TryReadBulkStatuses(sub, answer, entries))
                {
                    Log.BulkUnreadableAnswer(_log, sub, entries.Count);
                    SetAll(entries, Outcome.Retry);
                }

                return;
            }

            if (status == 404)
            {
                Log.BulkNotFound(_log, sub, entries.Count, path);
                SetAll(entries, Outcome.Discard);
                return;
            }

            Log.BulkAppFailed(_log, sub, status, entries.Count, await response.Content.ReadAsStringAsync(ct));
            SetAll(entries, Outcome.Retry);
        }
    }

    private static void SetAll(List<BulkEntry> entries, Outcome outcome)
    {
        foreach (var entry in entries)
        {
            entry.Outcome = outcome;
        }
    }

    /// <summary>
    /// The request body. A CloudEvent's stored bytes are already its JSON and are copied in as the
    /// entry's <c>event</c> object; a raw payload goes as a base64 string, as daprd sends it.
    /// </summary>
    private static ReadOnlyMemory<byte> BulkEnvelope(Subscription sub, List<BulkEntry> entries)
    {
        var size = 256;
        foreach (var entry in entries)
        {
            size += 160 + (entry.Message.Data.Length * (sub.RawPayload ? 2 : 1));
        }

        var buffer = new ArrayBufferWriter<byte>(size);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            json.WriteStartObject();
            json.WriteString("id", Guid.NewGuid().ToString());
            json.WriteString("type", BulkEventType);
            json.WriteString("topic", sub.Topic);
            json.WriteString("pubsubname", sub.PubSubName);
            json.WriteStartObject("metadata");
            json.WriteString("pubsubName", sub.PubSubName);
            json.WriteEndObject();
            json.WriteStartArray("entries");
            foreach (var entry in entries)
            {
                json.WriteStartObject();
                json.WriteString("entryId", entry.EntryId);
                json.WritePropertyName("event");
                if (sub.RawPayload)
                {
                    json.WriteBase64StringValue(entry.Message.Data);
                }
                else
                {
                    // Checked to be a JSON object when it was routed.
                    json.WriteRawValue(entry.Message.Data, skipInputValidation: true);
                }

                json.WriteStartObject("metadata");
                foreach (var (key, value) in entry.Message.Metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
                json.WriteString("contentType", sub.RawPayload ? OctetStream : CloudEvents.ContentType);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }

    /// <summary>
    /// Reads <c>{"statuses":[{"entryId","status"}]}</c> (names case-insensitive, as Go decodes them)
    /// into the entries' outcomes; an entry without an answer is retried. False when the body is not that JSON.
    /// </summary>
    private bool TryReadBulkStatuses(Subscription sub, byte[] answer, List<BulkEntry> entries)
    {
        if (answer.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
        {
            return false;
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(answer);
        }
        catch (JsonException)
        {
            // Not JSON at all: rare, and daprd retries every entry then too.
            return false;
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            SetAll(entries, Outcome.Retry);
            Dictionary<string, BulkEntry>? byId = null;
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!property.NameEquals("statuses") && !property.Name.Equals("statuses", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (property.Value.ValueKind != JsonValueKind.Array)
                {
                    return false;
                }

                byId ??= entries.ToDictionary(e => e.EntryId, StringComparer.Ordinal);
                foreach (var item in property.Value.EnumerateArray())
                {
                    var (id, status) = EntryStatus(item);
                    if (id is null || !byId.TryGetValue(id, out var entry))
                    {
                        Log.BulkUnknownEntry(_log, sub, id);
                        continue;
                    }

                    entry.Outcome = status switch
                    {
                        "SUCCESS" => Outcome.Success,
                        "DROP" => Outcome.Drop,
                        _ => Outcome.Retry,
                    };
                    if (status == "DROP")
                    {
                        Log.AppDropped(_log, sub, entry.CloudEvent?["id"]);
                    }
                    else if (status is not ("SUCCESS" or "RETRY" or "" or null))
                    {
                        Log.UnknownStatus(_log, sub, status, entry.CloudEvent?["id"]);
                    }
                }
            }

            return true;
        }
    }

    private static (string? EntryId, string? Status) EntryStatus(JsonElement item)
    {
        string? id = null;
        string? status = null;
        if (item.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in item.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                {
                    continue;
                }

                if (p.Name.Equals("entryId", StringComparison.OrdinalIgnoreCase))
                {
                    id = p.Value.GetString();
                }
                else if (p.Name.Equals("status", StringComparison.OrdinalIgnoreCase))
                {
                    status = p.Value.GetString();
                }
            }
        }

        return (id, status);
    }
}
