using Chat.ServiceDefaults;
using System.Globalization;
using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Dapr;
using Dapr.Client;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Chat.Delivery.Push;

/// <summary>A device's last push for a conversation: the recipient's read cursor then, and when.</summary>
public sealed record PushThrottleEntry(ulong ReadSeq, DateTimeOffset At);

/// <summary>
/// Pushes a new message to the devices of recipients with no live connection: one push per
/// registered device, through the APNs, FCM or Web Push output binding. Best effort: sync is the
/// source of truth, so a failing step (the lookups, a send that failed in transport) is retried
/// <see cref="PushOptions.Attempts"/> times, then logged and counted (<c>chat.push.failed</c>,
/// <c>chat.push.retries</c>), and never fails the event.
/// </summary>
/// <remarks>
/// Rate limit: at most one push per conversation and device every <see cref="PushOptions.ThrottleSeconds"/>
/// while the conversation stays unread. The last push is kept in <c>presence-store</c> (shared by
/// every delivery instance, expiring by TTL) with the recipient's read cursor at that time; a
/// later read moves the cursor past it and lifts the limit at once.
/// </remarks>
public sealed partial class PushNotifier(
    DirectoryInternalService.DirectoryInternalServiceClient directory,
    DaprClient dapr,
    IEnumerable<IPushSender> senders,
    IOptionsMonitor<PushOptions> options,
    PushStats stats,
    TimeProvider time,
    ILogger<PushNotifier> log) : IOfflineNotifier
{
    // Serialises the throttle check-and-set per conversation within this instance.
    private static readonly SemaphoreSlim[] Stripes = [.. Enumerable.Range(0, 32).Select(_ => new SemaphoreSlim(1, 1))];

    private readonly Dictionary<PushPlatform, IPushSender> _senders = senders.ToDictionary(s => s.Platform);

    /// <summary>The throttle key of one device for one conversation.</summary>
    public static string ThrottleKey(string conversationId, string userId, string deviceId) => $"push:{conversationId}:{userId}:{deviceId}";

    public async Task NotifyAsync(MessageCreated evt, IReadOnlyList<string> offlineUserIds, CancellationToken ct)
    {
        try
        {
            // Edits, deletes and reactions are not pushed: the message's preview went out once.
            if (evt.Message.Kind != MessageKind.Unspecified)
            {
                return;
            }

            // Directory answers for at most MaxBatchUsers users per call.
            foreach (var chunk in offlineUserIds.Where(u => u != evt.Message.SenderId).Chunk(ChatLimits.MaxBatchUsers))
            {
                // Retried here, not by pub/sub: redelivering the event would repeat the fan-out to
                // online users. Devices already pushed on an earlier try are throttled, not pushed twice.
                await RetryAsync(attempt => NotifyCoreAsync(evt.Message, chunk, ct), IsTransient, PushPlatform.Unspecified, ct);
            }
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            stats.Record(PushPlatform.Unspecified, PushOutcome.Failed);
            LogNotifyFailed(log, ex, evt.Message.ConversationId, evt.Message.Seq, options.CurrentValue.Attempts);
        }
        finally
        {
            stats.RecordProcessed();
        }
    }

    private async Task NotifyCoreAsync(ChatMessage message, string[] recipients, CancellationToken ct)
    {
        var cid = message.ConversationId;
        var request = new GetPushTargetsRequest { ConversationId = cid, SenderId = message.SenderId };
        request.UserIds.AddRange(recipients);

        var targets = await directory.GetPushTargetsAsync(request, cancellationToken: ct);
        var users = targets.Targets.Where(t => !t.Muted && t.UserId != message.SenderId && t.Devices.Count > 0).ToList();
        if (users.Count == 0)
        {
            return;
        }

        var readSeqs = await ReadSeqsAsync(cid, users.Select(u => u.UserId).ToList(), ct);
        var lastSeq = Math.Max(message.Seq, await LastSeqAsync(cid, ct));
        var o = options.CurrentValue;
        var sends = await ReserveAsync(cid, users, readSeqs, o, ct);
        await Parallel.ForEachAsync(sends, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, o.MaxParallelSends), CancellationToken = ct }, async (send, token) =>
        {
            var readSeq = readSeqs.GetValueOrDefault(send.User.UserId);
            var badge = lastSeq > readSeq ? lastSeq - readSeq : 0;
            var content = PushContent.For(message, targets.Title, send.User.ShowPreviews, badge, o.PreviewLength);
            await SendOneAsync(send.User.UserId, send.Device, content, token);
        });
    }

    /// <summary>
    /// Keeps the devices not pushed for this conversation within the window (or pushed before the
    /// recipient's last read), and records the push about to be made.
    /// </summary>
    private async Task<List<(PushTarget User, Device Device)>> ReserveAsync(string cid, List<PushTarget> users, Dictionary<string, ulong> readSeqs, PushOptions o, CancellationToken ct)
    {
        var candidates = users.SelectMany(u => u.Devices.Select(d => (User: u, Device: d))).ToList();
        if (o.ThrottleSeconds <= 0)
        {
            return candidates;
        }

        var window = TimeSpan.FromSeconds(o.ThrottleSeconds);
        var stripe = Stripes[(int)((uint)StringComparer.Ordinal.GetHashCode(cid) % (uint)Stripes.Length)];
        await stripe.WaitAsync(ct);
        try
        {
            var keys = candidates.Select(c => ThrottleKey(cid, c.User.UserId, c.Device.DeviceId)).ToList();
            var entries = (await dapr.GetBulkStateAsync<PushThrottleEntry?>(DaprNames.StateStores.Presence, keys, parallelism: null, cancellationToken: ct))
                .Where(e => e.Value is not null).ToDictionary(e => e.Key, e => e.Value!, StringComparer.Ordinal);
            var now = time.GetUtcNow();
            var kept = new List<(PushTarget, Device)>();
            var ttl = DaprStateMetadata.Ttl(window);
            var saves = new List<Task>();
            foreach (var (user, device) in candidates)
            {
                var key = ThrottleKey(cid, user.UserId, device.DeviceId);
                var readSeq = readSeqs.GetValueOrDefault(user.UserId);
                // Stores expire the entry by TTL; the time check covers a store that has not purged it yet.
                if (entries.TryGetValue(key, out var last) && now - last.At < window && readSeq <= last.ReadSeq)
                {
                    stats.RecordThrottled(device.Platform);
                    continue;
                }

                kept.Add((user, device));
                saves.Add(dapr.SaveStateAsync(DaprNames.StateStores.Presence, key, new PushThrottleEntry(readSeq, now), metadata: ttl, cancellationToken: ct));
            }

            await Task.WhenAll(saves);
            return kept;
        }
        finally
        {
            stripe.Release();
        }
    }

    private async Task SendOneAsync(string userId, Device device, PushContent content, CancellationToken ct)
    {
        if (!_senders.TryGetValue(device.Platform, out var sender) || !Addressable(device))
        {
            stats.Record(device.Platform, PushOutcome.Failed);
            LogUnusable(log, userId, device.DeviceId, device.Platform);
            return;
        }

        PushResult result;
        try
        {
            result = await RetryAsync(_ => sender.SendAsync(device, content, ct), ex => ex is not OperationCanceledException || !ct.IsCancellationRequested, device.Platform, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Token minting, secrets, transport, after every try: this push is lost, not the event.
            result = new PushResult(PushOutcome.Failed, ex.GetType().Name + ": " + ex.Message);
        }

        stats.Record(device.Platform, result.Outcome);
        switch (result.Outcome)
        {
            case PushOutcome.InvalidToken:
                LogInvalid(log, device.Platform, userId, device.DeviceId, result.Detail);
                await RemoveAsync(userId, device, ct);
                break;
            case PushOutcome.Failed:
                LogFailed(log, device.Platform, userId, device.DeviceId, result.Detail);
                break;
        }
    }

    private static bool IsTransient(Exception ex) => ex is RpcException or DaprException or HttpRequestException or TimeoutException;

    private Task RetryAsync(Func<int, Task> step, Func<Exception, bool> retryable, PushPlatform platform, CancellationToken ct) =>
        RetryAsync<bool>(async attempt =>
        {
            await step(attempt);
            return true;
        }, retryable, platform, ct);

    /// <summary>Runs <paramref name="step"/> up to <see cref="PushOptions.Attempts"/> times while it throws something retryable.</summary>
    private async Task<T> RetryAsync<T>(Func<int, Task<T>> step, Func<Exception, bool> retryable, PushPlatform platform, CancellationToken ct)
    {
        var attempts = Math.Max(1, options.CurrentValue.Attempts);
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await step(attempt);
            }
            catch (Exception ex) when (attempt < attempts && retryable(ex))
            {
                stats.RecordRetry(platform);
                LogRetrying(log, ex, platform, attempt, attempts);
                await Task.Delay(delay, time, ct);
                delay *= 2;
            }
        }
    }

    private async Task RemoveAsync(string userId, Device device, CancellationToken ct)
    {
        try
        {
            // With the token: a registration refreshed meanwhile (new token) is kept.
            var token = device.Platform == PushPlatform.Webpush ? device.WebPush.Endpoint : device.PushToken;
            await directory.RemoveDeviceAsync(new RemoveDeviceRequest { UserId = userId, DeviceId = device.DeviceId, PushToken = token }, cancellationToken: ct);
        }
        catch (RpcException ex)
        {
            LogRemoveFailed(log, ex, userId, device.DeviceId);
        }
    }

    private static bool Addressable(Device device) => device.Platform switch
    {
        PushPlatform.Webpush => device.WebPush is { Endpoint.Length: > 0, P256Dh.Length: > 0, Auth.Length: > 0 },
        _ => device.PushToken.Length > 0,
    };

    /// <summary>The recipients' read cursors (messaging's <c>conv:{cid}:cursor:{uid}</c>), 0 when none.</summary>
    private async Task<Dictionary<string, ulong>> ReadSeqsAsync(string cid, List<string> userIds, CancellationToken ct)
    {
        var items = await dapr.GetBulkStateAsync<StoredCursor?>(DaprNames.StateStores.Messages, userIds.Select(u => MessageKeys.Cursor(cid, u)).ToList(), parallelism: null, cancellationToken: ct);
        var byKey = items.Where(i => i.Value is not null).ToDictionary(i => i.Key, i => i.Value!.ReadSeq, StringComparer.Ordinal);
        return userIds.ToDictionary(u => u, u => byKey.GetValueOrDefault(MessageKeys.Cursor(cid, u)), StringComparer.Ordinal);
    }

    private async Task<ulong> LastSeqAsync(string cid, CancellationToken ct) =>
        (await dapr.GetStateAsync<ConversationMeta?>(DaprNames.StateStores.Messages, MessageKeys.Meta(cid), cancellationToken: ct))?.LastSeq ?? 0;

    [LoggerMessage(Level = LogLevel.Error, Message = "Push for {ConversationId} seq {Seq} failed after {Attempts} tries; the recipients see it on their next sync")]
    private static partial void LogNotifyFailed(ILogger logger, Exception ex, string conversationId, ulong seq, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push step ({Platform}) failed on try {Attempt} of {Attempts}; retrying")]
    private static partial void LogRetrying(ILogger logger, Exception ex, PushPlatform platform, int attempt, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {DeviceId} of {UserId} has no usable {Platform} registration")]
    private static partial void LogUnusable(ILogger logger, string userId, string deviceId, PushPlatform platform);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Platform} reports the registration of device {DeviceId} of {UserId} invalid ({Detail}); removing it")]
    private static partial void LogInvalid(ILogger logger, PushPlatform platform, string userId, string deviceId, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Platform} push to device {DeviceId} of {UserId} failed: {Detail}")]
    private static partial void LogFailed(ILogger logger, PushPlatform platform, string userId, string deviceId, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removing the invalid registration of device {DeviceId} of {UserId} failed")]
    private static partial void LogRemoveFailed(ILogger logger, Exception ex, string userId, string deviceId);
}
