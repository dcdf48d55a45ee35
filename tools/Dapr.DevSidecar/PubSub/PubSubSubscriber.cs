using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.PubSub;

/// <summary>
/// The subscribe side of pub/sub for one sidecar: finds the app's subscriptions (declarative
/// <c>kind: Subscription</c> resources at start, then <c>GET /dapr/subscribe</c> once the app
/// answers), subscribes each with the app-id as consumer group, and delivers CloudEvents to
/// the app over HTTP, reading its answer as daprd does (SUCCESS / RETRY / DROP, 404 = drop,
/// other errors = retry), with retries, dead-letter topics and bounded concurrency. Apps with app
/// protocol grpc get the same through AppCallback (PubSubSubscriber.Grpc.cs).
/// </summary>
public sealed partial class PubSubSubscriber : IAsyncDisposable
{

    /// <summary>At most this many deliveries to the app run at once.</summary>
    public const int MaxConcurrentDeliveries = 32;

    private readonly SidecarContext _sidecar;
    private readonly AppChannel _app;
    private readonly LoadedResources _resources;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _gate = new(MaxConcurrentDeliveries);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<IAsyncDisposable> _subscriptions = [];
    private readonly List<Subscription> _active = [];
    private Task _discovery = Task.CompletedTask;

    public PubSubSubscriber(SidecarContext sidecar, AppChannel app, LoadedResources resources, TimeProvider time, ILoggerFactory loggers)
    {
        _sidecar = sidecar;
        _app = app;
        _resources = resources;
        _time = time;
        _log = loggers.CreateLogger("Dapr.DevSidecar.PubSub");
    }

    /// <summary>Completes once the app's subscriptions are discovered and subscribed (or it has none).</summary>
    public Task Ready => _ready.Task;

    /// <summary>The subscriptions in effect.</summary>
    public IReadOnlyList<Subscription> Subscriptions
    {
        get
        {
            lock (_active)
            {
                return [.. _active];
            }
        }
    }

    /// <summary>Reads declarative subscriptions (throwing on bad ones) and starts discovery in the background.</summary>
    public void Start()
    {
        var declarative = Subscription.ParseDeclarative(_resources, _sidecar.AppId);
        if (_app.Options.AppPort is null)
        {
            if (declarative.Count > 0)
            {
                _log.LogWarning("app '{AppId}' has no app port: its {Count} declarative subscription(s) cannot be delivered", _sidecar.AppId, declarative.Count);
            }

            _ready.TrySetResult();
            return;
        }

        if (!string.Equals(_app.Options.AppProtocol, "http", StringComparison.OrdinalIgnoreCase) && !IsGrpcApp)
        {
            _log.LogWarning("app '{AppId}' uses app protocol {Protocol}: the dev sidecar delivers pub/sub messages to http and grpc apps only; no subscriptions are loaded",
                _sidecar.AppId, _app.Options.AppProtocol);
            _ready.TrySetResult();
            return;
        }

        var stop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, _sidecar.ShutdownRequested.Token).Token;
        _discovery = Task.Run(async () =>
        {
            try
            {
                var all = new List<Subscription>(declarative);
                all.AddRange(IsGrpcApp ? await DiscoverGrpcAsync(stop) : await DiscoverAsync(stop));
                await SubscribeAllAsync(all, stop);
                _ready.TrySetResult();
            }
            catch (OperationCanceledException)
            {
                _ready.TrySetCanceled();
            }
            catch (Exception ex)
            {
                _log.LogError("pub/sub subscriptions of app '{AppId}' failed to load: {Error}", _sidecar.AppId, ex.Message);
                _ready.TrySetException(ex);
            }
        }, CancellationToken.None);
    }

    private async Task<List<Subscription>> DiscoverAsync(CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/dapr/subscribe");
                using var response = await _app.SendAsync(request, ct);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return [];
                }

                var body = await response.Content.ReadAsStringAsync(ct);
                if (!response.IsSuccessStatusCode)
                {
                    _log.LogError("app '{AppId}' answered GET /dapr/subscribe with {Status}: no programmatic subscriptions", _sidecar.AppId, (int)response.StatusCode);
                    return [];
                }

                if (string.IsNullOrWhiteSpace(body))
                {
                    return [];
                }

                var (subs, warnings) = Subscription.ParseProgrammatic(body, _sidecar.AppId);
                foreach (var w in warnings)
                {
                    _log.LogWarning("{Warning}", w);
                }

                return subs;
            }
            catch (HttpRequestException)
            {
                // The app is not listening yet: apps start after (or alongside) their sidecar.
                await Task.Delay(delay, _time, ct);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 500));
            }
        }
    }

    private async Task SubscribeAllAsync(List<Subscription> subscriptions, CancellationToken ct)
    {
        foreach (var sub in subscriptions)
        {
            if (IsGrpcApp && sub.Bulk is not null)
            {
                _log.LogError("{Subscription}: bulk subscribe to an app with app protocol grpc (AppCallbackAlpha/OnBulkTopicEventAlpha1) is not implemented by the dev sidecar; subscription refused", sub);
                continue;
            }

            var instance = _sidecar.Components.All.FirstOrDefault(c => c.Definition.Name == sub.PubSubName);
            if (instance?.Implementation is not IPubSub pubsub)
            {
                _log.LogWarning("{Subscription}: pubsub '{PubSub}' is not loaded for app '{AppId}'; subscription skipped", sub, sub.PubSubName, _sidecar.AppId);
                continue;
            }

            var group = ConsumerGroup(instance.Definition);
            var policy = DeliveryRetryPolicy.For(_resources, _sidecar.AppId, sub.PubSubName);
            PubSubHandler handler = sub.Bulk is null ? (msg, token) => HandleAsync(sub, pubsub, policy, msg, token) : BulkHandler(sub, pubsub, policy);
            var handle = await pubsub.SubscribeAsync(sub.Topic, group, handler, ct);
            lock (_active)
            {
                _subscriptions.Add(handle);
                _active.Add(sub);
            }

            if (sub.Bulk is { } bulk)
            {
                _log.LogInformation("app '{AppId}' bulk-subscribed to {PubSub}/{Topic} (consumer group {Group}; batches of up to {Max} messages, sent at most {AwaitMs} ms after the first)",
                    _sidecar.AppId, sub.PubSubName, sub.Topic, group, bulk.MaxMessagesCount, bulk.MaxAwaitDuration.TotalMilliseconds);
            }
            else
            {
                _log.LogInformation("app '{AppId}' subscribed to {PubSub}/{Topic} (consumer group {Group})", _sidecar.AppId, sub.PubSubName, sub.Topic, group);
            }
        }
    }

    /// <summary>The consumer group: <c>consumerID</c> metadata (with <c>{appID}</c> expanded) or the app-id, as daprd sets it.</summary>
    private string ConsumerGroup(ComponentDefinition def) =>
        def.Get("consumerID") is { } id
            ? id.Replace("{appID}", _sidecar.AppId, StringComparison.Ordinal).Replace("{uuid}", Guid.NewGuid().ToString(), StringComparison.Ordinal)
            : _sidecar.AppId;

    private enum Outcome
    {
        Success,
        Retry,
        Drop,

        /// <summary>A bulk request answered 404: daprd counts its entries dropped without dead-lettering them.</summary>
        Discard,
    }

    /// <summary>
    /// Reads <paramref name="message"/> as the event to deliver and picks its route. Returns false
    /// (after logging why) when it is not deliverable: not a CloudEvent, expired, or no route matches;
    /// daprd then drops it to the dead-letter topic.
    /// </summary>
    private bool TryRoute(Subscription sub, PubSubMessage message, [NotNullWhen(true)] out JsonObject? cloudEvent, out string path)
    {
        path = "";
        cloudEvent = sub.RawPayload
            ? CloudEvents.FromRawPayload(message.Data, message.Topic, sub.PubSubName, message.Metadata)
            : CloudEvents.TryReadEvent(message.Data);
        if (cloudEvent is null)
        {
            Log.NotACloudEvent(_log, sub);
            return false;
        }

        if (HasExpired(cloudEvent))
        {
            Log.Expired(_log, sub, cloudEvent["id"]);
            return false;
        }

        if (sub.RouteFor(cloudEvent) is not { } route)
        {
            Log.NoRoute(_log, sub, cloudEvent["id"]);
            return false;
        }

        path = route;
        return true;
    }

    private async Task HandleAsync(Subscription sub, IPubSub pubsub, DeliveryRetryPolicy policy, PubSubMessage message, CancellationToken brokerToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(brokerToken, _stop.Token);
        var ct = linked.Token;
        await _gate.WaitAsync(ct);
        try
        {
            if (!TryRoute(sub, message, out var cloudEvent, out var path))
            {
                await DeadLetterAsync(sub, pubsub, message, ct);
                return;
            }

            // The stored bytes already are the CloudEvent's JSON; only a raw payload gets an envelope here.
            var body = sub.RawPayload ? JsonSerializer.SerializeToUtf8Bytes(cloudEvent) : message.Data;
            for (var retry = 0; ; retry++)
            {
                if (retry > 0)
                {
                    await Task.Delay(policy.DelayBefore(retry), _time, ct);
                }

                var outcome = await DeliverOnceAsync(sub, path, body, cloudEvent, ct);
                if (outcome == Outcome.Success)
                {
                    return;
                }

                if (outcome == Outcome.Drop)
                {
                    await DeadLetterAsync(sub, pubsub, message, ct);
                    return;
                }

                if (!policy.Allows(retry + 1))
                {
                    Log.RetriesExhausted(_log, sub, cloudEvent["id"], retry);
                    await DeadLetterAsync(sub, pubsub, message, ct);
                    return;
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

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

    private async Task DeadLetterAsync(Subscription sub, IPubSub pubsub, PubSubMessage message, CancellationToken ct)
    {
        if (sub.DeadLetterTopic is not { } dlq)
        {
            return;
        }

        try
        {
            await pubsub.PublishAsync(message with { Topic = dlq }, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.DeadLetterFailed(_log, sub, dlq, ex.Message);
        }
    }

    private bool HasExpired(JsonObject cloudEvent) =>
        cloudEvent["expiration"]?.GetValueKind() == JsonValueKind.String
        && DateTimeOffset.TryParse(cloudEvent["expiration"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
        && at < _time.GetUtcNow();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _discovery;
        }
        catch (OperationCanceledException)
        {
            // stopping
        }

        List<IAsyncDisposable> subs;
        lock (_active)
        {
            subs = [.. _subscriptions];
            _subscriptions.Clear();
        }

        foreach (var s in subs)
        {
            await s.DisposeAsync();
        }

        List<IAsyncDisposable> batchers;
        lock (_active)
        {
            batchers = [.. _batchers];
            _batchers.Clear();
        }

        foreach (var b in batchers)
        {
            await b.DisposeAsync();
        }

        _stop.Dispose();
    }

    /// <summary>The delivery path's log messages, generated so that a disabled level costs nothing.</summary>
    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: a message is not a CloudEvent (published with rawPayload?); not delivered")]
        public static partial void NotACloudEvent(ILogger logger, Subscription subscription);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: dropping expired event {Id}")]
        public static partial void Expired(ILogger logger, Subscription subscription, JsonNode? id);

        [LoggerMessage(Level = LogLevel.Debug, Message = "{Subscription}: no route matches event {Id}; dropped")]
        public static partial void NoRoute(ILogger logger, Subscription subscription, JsonNode? id);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: event {Id} still failing after {Retries} retries")]
        public static partial void RetriesExhausted(ILogger logger, Subscription subscription, JsonNode? id, int retries);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: delivering event {Id} to {Path} failed: {Error}; will retry")]
        public static partial void DeliveryFailed(ILogger logger, Subscription subscription, JsonNode? id, string path, string error);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: DROP status returned from app while processing event {Id}")]
        public static partial void AppDropped(ILogger logger, Subscription subscription, JsonNode? id);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: unknown status '{Status}' returned from app for event {Id}; will retry")]
        public static partial void UnknownStatus(ILogger logger, Subscription subscription, string? status, JsonNode? id);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: app answered 404 for event {Id} at {Path}; dropped")]
        public static partial void AppNotFound(ILogger logger, Subscription subscription, JsonNode? id, string path);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: app answered {Status} for event {Id}: {Body}; will retry")]
        public static partial void AppFailed(ILogger logger, Subscription subscription, int status, JsonNode? id, string body);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: sending a message to dead-letter topic {Topic} failed: {Error}")]
        public static partial void DeadLetterFailed(ILogger logger, Subscription subscription, string topic, string error);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: {Count} bulk entries still failing after {Retries} retries")]
        public static partial void BulkRetriesExhausted(ILogger logger, Subscription subscription, int count, int retries);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: delivering {Count} bulk entries to {Path} failed: {Error}; will retry")]
        public static partial void BulkDeliveryFailed(ILogger logger, Subscription subscription, int count, string path, string error);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: the app's answer to a bulk delivery is not {{\"statuses\":[...]}}; retrying its {Count} entries")]
        public static partial void BulkUnreadableAnswer(ILogger logger, Subscription subscription, int count);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: app answered 404 to a bulk delivery of {Count} entries at {Path}; dropped")]
        public static partial void BulkNotFound(ILogger logger, Subscription subscription, int count, string path);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: app answered {Status} to a bulk delivery of {Count} entries: {Body}; will retry")]
        public static partial void BulkAppFailed(ILogger logger, Subscription subscription, int status, int count, string body);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: the app answered a status for unknown bulk entry id {EntryId}; ignored")]
        public static partial void BulkUnknownEntry(ILogger logger, Subscription subscription, string? entryId);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: a bulk delivery failed: {Error}")]
        public static partial void BulkFailed(ILogger logger, Subscription subscription, string error);
    }
}
