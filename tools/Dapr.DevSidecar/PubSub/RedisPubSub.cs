using System.Text.Json;
using System.Threading.Channels;
using Dapr.DevSidecar.Components;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Dapr.DevSidecar.PubSub;

/// <summary>
/// <c>pubsub.redis</c> over Redis Streams, as components-contrib stores and reads it: each topic
/// is a stream whose entries hold <c>data</c> and <c>metadata</c> (JSON); <c>XADD</c> trims with
/// <c>MAXLEN ~ maxLenApprox</c>; each consumer group (<c>consumerID</c>, by default the app-id) reads
/// with <c>XREADGROUP</c>; handled entries are <c>XACK</c>ed; entries left pending longer than
/// <c>processingTimeout</c> are claimed again (<c>XPENDING</c> + <c>XCLAIM</c>) every <c>redeliverInterval</c>.
/// </summary>
public sealed class RedisPubSub : IPubSub, IAsyncDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _closing = new();
    private readonly List<Task> _loops = [];
    private TaskCompletionSource _published = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RedisPubSub(ConnectionMultiplexer redis, Settings settings, ILogger log)
    {
        _redis = redis;
        Options = settings;
        _log = log;
    }

    /// <summary>The metadata fields of components-contrib's redis pub/sub that the dev sidecar reads.</summary>
    public sealed record Settings(long MaxLenApprox, TimeSpan ProcessingTimeout, TimeSpan RedeliverInterval, int QueueDepth, int Concurrency);

    public Settings Options { get; }

    public static RedisPubSub Create(ComponentDefinition def, ILoggerFactory loggers)
    {
        var host = def.Get("redisHost") ?? throw new ComponentLoadException(def.SourceFile, "spec.metadata[redisHost]", $"component '{def.Name}' needs redisHost (host:port)");
        var config = new ConfigurationOptions
        {
            AbortOnConnectFail = true,
            ConnectTimeout = 5000,
            Password = def.Get("redisPassword"),
            User = def.Get("redisUsername"),
            DefaultDatabase = def.GetInt("redisDB", 0),
            Ssl = def.GetBool("enableTLS"),
        };
        config.EndPoints.Add(host.Contains(':', StringComparison.Ordinal) ? host : $"{host}:{def.GetInt("redisPort", 6379)}");
        if (def.Get("streamTTL") is not null)
        {
            throw new ComponentLoadException(def.SourceFile, "spec.metadata[streamTTL]", "streamTTL is not implemented by the dev sidecar; use maxLenApprox");
        }

        var settings = new Settings(
            def.Get("maxLenApprox") is { } m && long.TryParse(m, System.Globalization.CultureInfo.InvariantCulture, out var max) ? max : 0,
            Duration(def, "processingTimeout", TimeSpan.FromSeconds(15)),
            Duration(def, "redeliverInterval", TimeSpan.FromSeconds(60)),
            Math.Max(1, def.GetInt("queueDepth", 100)),
            Math.Max(1, def.GetInt("concurrency", 10)));
        ConnectionMultiplexer redis;
        try
        {
            redis = ConnectionMultiplexer.Connect(config);
        }
        catch (RedisConnectionException ex)
        {
            throw new ComponentLoadException(def.SourceFile, "spec.metadata[redisHost]", $"component '{def.Name}' cannot connect to redis at {host}: {ex.Message}");
        }

        return new RedisPubSub(redis, settings, loggers.CreateLogger("Dapr.DevSidecar.PubSub.Redis"));
    }

    /// <summary>components-contrib's redis durations: a bare number is milliseconds, otherwise a Go duration.</summary>
    private static TimeSpan Duration(ComponentDefinition def, string key, TimeSpan fallback) =>
        def.Get(key) is { } text && long.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var ms)
            ? TimeSpan.FromMilliseconds(ms)
            : MetadataDuration.Get(def, key, fallback);

    public async Task PublishAsync(PubSubMessage message, CancellationToken cancellationToken)
    {
        NameValueEntry[] fields =
        [
            new("data", message.Data),
            new("metadata", JsonSerializer.Serialize(message.Metadata)),
        ];
        await _redis.GetDatabase().StreamAddAsync(message.Topic, fields,
            maxLength: Options.MaxLenApprox > 0 ? Options.MaxLenApprox : null, useApproximateMaxLength: Options.MaxLenApprox > 0);
        // Wake this process's readers at once; other processes see the entry at their next poll.
        Interlocked.Exchange(ref _published, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    public async Task<IAsyncDisposable> SubscribeAsync(string topic, string group, PubSubHandler handler, CancellationToken cancellationToken)
    {
        var db = _redis.GetDatabase();
        try
        {
            await db.StreamCreateConsumerGroupAsync(topic, group, "0", createStream: true);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
        {
            // The group exists: another instance of the app (or an earlier run) created it.
        }

        var stop = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        var queue = Channel.CreateBounded<StreamEntry>(Options.QueueDepth);
        var tasks = new List<Task> { Task.Run(() => ReadLoopAsync(topic, group, queue.Writer, stop.Token), CancellationToken.None) };
        if (Options.ProcessingTimeout > TimeSpan.Zero && Options.RedeliverInterval > TimeSpan.Zero)
        {
            tasks.Add(Task.Run(() => ReclaimLoopAsync(topic, group, queue.Writer, stop.Token), CancellationToken.None));
        }

        for (var i = 0; i < Options.Concurrency; i++)
        {
            tasks.Add(Task.Run(() => WorkerAsync(topic, group, queue.Reader, handler, stop.Token), CancellationToken.None));
        }

        lock (_loops)
        {
            _loops.AddRange(tasks);
        }

        return new Subscription(stop, tasks);
    }

    private async Task ReadLoopAsync(string topic, string group, ChannelWriter<StreamEntry> queue, CancellationToken ct)
    {
        var db = _redis.GetDatabase();
        while (!ct.IsCancellationRequested)
        {
            var wake = Volatile.Read(ref _published).Task;
            try
            {
                // The consumer name is the group name, as components-contrib does: instances share one consumer.
                var entries = await db.StreamReadGroupAsync(topic, group, group, ">", Options.QueueDepth);
                foreach (var entry in entries)
                {
                    await queue.WriteAsync(entry, ct);
                }

                if (entries.Length == 0)
                {
                    // StackExchange.Redis multiplexes one connection, so no blocking XREADGROUP: poll, woken early by local publishes.
                    await Task.WhenAny(wake, Task.Delay(100, ct));
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (RedisServerException ex) when (ex.Message.Contains("NOGROUP", StringComparison.Ordinal))
            {
                _log.LogWarning("redis streams: consumer group {Group} does not exist for stream {Stream}; recreating it", group, topic);
                await db.StreamCreateConsumerGroupAsync(topic, group, "0", createStream: true);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                _log.LogError("redis streams: reading {Stream} failed: {Error}", topic, ex.Message);
                await Delay(1000, ct);
            }
        }
    }

    private async Task ReclaimLoopAsync(string topic, string group, ChannelWriter<StreamEntry> queue, CancellationToken ct)
    {
        var db = _redis.GetDatabase();
        while (!ct.IsCancellationRequested)
        {
            if (!await Delay((int)Options.RedeliverInterval.TotalMilliseconds, ct))
            {
                return;
            }

            try
            {
                var pending = await db.StreamPendingMessagesAsync(topic, group, Options.QueueDepth, RedisValue.Null);
                var due = pending.Where(p => p.IdleTimeInMilliseconds >= Options.ProcessingTimeout.TotalMilliseconds).Select(p => p.MessageId).ToArray();
                if (due.Length == 0)
                {
                    continue;
                }

                var claimed = await db.StreamClaimAsync(topic, group, group, (long)Options.ProcessingTimeout.TotalMilliseconds, due);
                var live = claimed.Where(e => !e.IsNull).ToList();
                foreach (var entry in live)
                {
                    await queue.WriteAsync(entry, ct);
                }

                // Pending entries that no longer exist in the stream (trimmed) are acknowledged away.
                var gone = due.Except(live.Select(e => e.Id)).ToArray();
                if (gone.Length > 0)
                {
                    await db.StreamAcknowledgeAsync(topic, group, gone);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                _log.LogError("redis streams: reclaiming pending entries of {Stream} failed: {Error}", topic, ex.Message);
            }
        }
    }

    private async Task WorkerAsync(string topic, string group, ChannelReader<StreamEntry> queue, PubSubHandler handler, CancellationToken ct)
    {
        var db = _redis.GetDatabase();
        try
        {
            await foreach (var entry in queue.ReadAllAsync(ct))
            {
                var message = ToMessage(topic, entry);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                if (Options.ProcessingTimeout > TimeSpan.Zero && Options.RedeliverInterval > TimeSpan.Zero)
                {
                    timeout.CancelAfter(Options.ProcessingTimeout);
                }

                try
                {
                    await handler(message, timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    // Not handled (processingTimeout, or the subscriber is stopping): not acknowledged,
                    // so the reclaim loop of this or another instance redelivers it after processingTimeout.
                    _log.LogWarning("redis streams: entry {Id} of {Stream} not handled; left pending for redelivery", entry.Id, topic);
                    continue;
                }
                catch (Exception ex)
                {
                    _log.LogError("redis streams: handling entry {Id} of {Stream} failed: {Error}", entry.Id, topic, ex.Message);
                }

                await db.StreamAcknowledgeAsync(topic, group, entry.Id);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // unsubscribed
        }
    }

    private static PubSubMessage ToMessage(string topic, StreamEntry entry)
    {
        byte[] data = [];
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in entry.Values)
        {
            if (field.Name == "data")
            {
                data = (byte[]?)field.Value ?? [];
            }
            else if (field.Name == "metadata" && field.Value.HasValue)
            {
                try
                {
                    metadata = JsonSerializer.Deserialize<Dictionary<string, string>>(field.Value.ToString()) ?? metadata;
                }
                catch (JsonException)
                {
                    // components-contrib also ignores unreadable metadata.
                }
            }
        }

        return new PubSubMessage(topic, data, metadata);
    }

    private static async Task<bool> Delay(int ms, CancellationToken ct)
    {
        try
        {
            await Task.Delay(ms, ct);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        Task[] loops;
        lock (_loops)
        {
            loops = [.. _loops];
        }

        await Task.WhenAll(loops).ContinueWith(_ => { }, TaskScheduler.Default);
        await _redis.DisposeAsync();
        _closing.Dispose();
    }

    private sealed class Subscription(CancellationTokenSource stop, List<Task> tasks) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await Task.WhenAll(tasks).ContinueWith(_ => { }, TaskScheduler.Default);
            stop.Dispose();
        }
    }
}
