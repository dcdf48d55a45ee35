using System.Collections.Concurrent;
using Chat.Gateway.Hubs;

namespace Chat.Integration.Tests.Reliability.Workload;

/// <summary>How a device got a message.</summary>
public enum DeliveryPath
{
    /// <summary>Pushed as MessageReceived.</summary>
    Live,

    /// <summary>Returned by Sync.</summary>
    Sync,
}

/// <summary>
/// One try to send (the first and every retry, with the same client_msg_id): a message, or an
/// "edit" | "delete" | "reaction" of the message at <paramref name="TargetSeq"/> (Text: the new text or emoji).
/// </summary>
public sealed record SendAttempt(string Device, string SenderId, string ConversationId, string ClientMsgId, string Text, int Attempt, string Kind = "message", ulong TargetSeq = 0);

/// <summary>An acknowledgement: the invocation's result or the MessageAccepted event.</summary>
public sealed record AckRecord(string Device, string SenderId, string ClientMsgId, MessageDto Message, bool Duplicate, bool FromEvent);

/// <summary>A message a device received, live or by sync.</summary>
public sealed record DeliveryRecord(string Device, string UserId, MessageDto Message, DeliveryPath Path);

/// <summary>A ReceiptUpdated a device received.</summary>
public sealed record ReceiptRecord(string Device, ReceiptDto Receipt);

/// <summary>Everything the workload saw, appended from many threads.</summary>
public sealed class WorkloadHistory
{
    private int _reconnects;
    private int _duplicatesSuppressed;
    private int _outOfOrderLive;
    private int _gapSyncs;
    private int _firstLive;
    private int _firstSync;

    public ConcurrentQueue<SendAttempt> Attempts { get; } = new();

    public ConcurrentQueue<AckRecord> Acks { get; } = new();

    public ConcurrentQueue<DeliveryRecord> Deliveries { get; } = new();

    public ConcurrentQueue<ReceiptRecord> Receipts { get; } = new();

    /// <summary>Errors seen by clients, by kind (hub error code, or the exception type).</summary>
    public ConcurrentDictionary<string, int> Errors { get; } = new(StringComparer.Ordinal);

    /// <summary>Things a client saw that should never happen (cursor_ahead, a different message at a known seq…).</summary>
    public ConcurrentQueue<string> Anomalies { get; } = new();

    public int Reconnects => _reconnects;

    public int DuplicatesSuppressed => _duplicatesSuppressed;

    public int OutOfOrderLive => _outOfOrderLive;

    public int GapSyncs => _gapSyncs;

    /// <summary>Messages a device got first live (not counting copies it already held).</summary>
    public int FirstLive => _firstLive;

    /// <summary>Messages a device got first by sync (it had missed them live, or was offline).</summary>
    public int FirstSync => _firstSync;

    public void FirstArrival(DeliveryPath path)
    {
        if (path == DeliveryPath.Live)
        {
            Interlocked.Increment(ref _firstLive);
        }
        else
        {
            Interlocked.Increment(ref _firstSync);
        }
    }

    /// <summary>When the last message or ack arrived (for the quiet period).</summary>
    public DateTime LastActivityUtc { get; private set; } = DateTime.UtcNow;

    public void Touch() => LastActivityUtc = DateTime.UtcNow;

    public void Reconnected() => Interlocked.Increment(ref _reconnects);

    public void DuplicateSuppressed() => Interlocked.Increment(ref _duplicatesSuppressed);

    public void LiveOutOfOrder() => Interlocked.Increment(ref _outOfOrderLive);

    public void GapSync() => Interlocked.Increment(ref _gapSyncs);

    public void Error(string kind) => Errors.AddOrUpdate(kind, 1, (_, n) => n + 1);
}
