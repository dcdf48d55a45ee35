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
}
