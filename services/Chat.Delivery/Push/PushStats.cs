using System.Diagnostics.Metrics;
using Chat.Contracts.V1;
using Chat.ServiceDefaults;

namespace Chat.Delivery.Push;

/// <summary>
/// Push counters: on the <c>Chat.Dapr</c> meter (<c>chat.push.*</c>, tagged with the platform)
/// and as totals for health pages and tests.
/// </summary>
public sealed class PushStats
{
    private static readonly Counter<long> SentCounter = ChatTelemetry.Meter.CreateCounter<long>("chat.push.sent", description: "Pushes the push service accepted");
    private static readonly Counter<long> FailedCounter = ChatTelemetry.Meter.CreateCounter<long>("chat.push.failed", description: "Pushes (platform tag) or whole push steps (platform none) that failed after every try");
    private static readonly Counter<long> RetryCounter = ChatTelemetry.Meter.CreateCounter<long>("chat.push.retries", description: "Push steps tried again after a transient failure");
    private static readonly Counter<long> InvalidCounter = ChatTelemetry.Meter.CreateCounter<long>("chat.push.invalid_tokens", description: "Registrations removed because the push service reported them invalid");
    private static readonly Counter<long> ThrottledCounter = ChatTelemetry.Meter.CreateCounter<long>("chat.push.throttled", description: "Pushes skipped by the per-conversation rate limit");

    private long _sent, _failed, _invalid, _throttled, _processed, _retries;

    public long Sent => Interlocked.Read(ref _sent);

    public long Failed => Interlocked.Read(ref _failed);

    public long InvalidTokens => Interlocked.Read(ref _invalid);

    public long Throttled => Interlocked.Read(ref _throttled);

    /// <summary>Push steps tried again after a transient failure.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>MessageCreated events whose push handling finished (whatever came of it).</summary>
    public long Processed => Interlocked.Read(ref _processed);

    internal void Record(PushPlatform platform, PushOutcome outcome)
    {
        var tag = new KeyValuePair<string, object?>("platform", Name(platform));
        switch (outcome)
        {
            case PushOutcome.Sent:
                Interlocked.Increment(ref _sent);
                SentCounter.Add(1, tag);
                break;
            case PushOutcome.InvalidToken:
                Interlocked.Increment(ref _invalid);
                InvalidCounter.Add(1, tag);
                break;
            default:
                Interlocked.Increment(ref _failed);
                FailedCounter.Add(1, tag);
                break;
        }
    }

    internal void RecordThrottled(PushPlatform platform)
    {
        Interlocked.Increment(ref _throttled);
        ThrottledCounter.Add(1, new KeyValuePair<string, object?>("platform", Name(platform)));
    }

    internal void RecordRetry(PushPlatform platform)
    {
        Interlocked.Increment(ref _retries);
        RetryCounter.Add(1, new KeyValuePair<string, object?>("platform", Name(platform)));
    }

    internal void RecordProcessed() => Interlocked.Increment(ref _processed);

    private static string Name(PushPlatform platform) => platform switch
    {
        PushPlatform.Apns => "apns",
        PushPlatform.Fcm => "fcm",
        PushPlatform.Webpush => "webpush",
        _ => "none",
    };
}
