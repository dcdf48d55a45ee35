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
/// New entries are read as daprd reads them: <c>XREADGROUP ... BLOCK</c>, which returns as soon as an
/// entry arrives from any publisher (another sidecar process, or any redis client). StackExchange.Redis
/// multiplexes commands over one connection, so each subscription issues its blocking read on a
/// connection of its own.
/// </summary>
public sealed class RedisPubSub : IPubSub, IAsyncDisposable
{
    /// <summary>How long one blocking read waits for entries before it is issued again.</summary>
    internal static readonly TimeSpan BlockFor = TimeSpan.FromSeconds(2);

    private readonly ConnectionMultiplexer _redis;
    private readonly ConfigurationOptions _config;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _closing = new();
    private readonly List<Task> _loops = [];
    private readonly List<ConnectionMultiplexer> _readers = [];

    private RedisPubSub(ConnectionMultiplexer redis, ConfigurationOptions config, Settings settings, ILogger log)
    {
        _redis = redis;
        _config = config;
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

        return new RedisPubSub(redis, config, settings, loggers.CreateLogger("Dapr.DevSidecar.PubSub.Redis"));
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

        var reader = await ConnectReaderAsync(group);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        var queue = Channel.CreateBounded<StreamEntry>(Options.QueueDepth);
        var tasks = new List<Task> { Task.Run(() => ReadLoopAsync(reader, topic, group, queue.Writer, stop.Token), CancellationToken.None) };
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
            _readers.Add(reader);
        }

        return new Subscription(this, stop, reader, tasks);
    }

    /// <summary>Closes a subscription's reader connection (once), ending a read blocked in redis now rather than when its BLOCK time runs out.</summary>
    private async Task CloseReaderAsync(ConnectionMultiplexer reader)
    {
        lock (_loops)
        {
            if (!_readers.Remove(reader))
            {
                return;
            }
        }

        await reader.CloseAsync(allowCommandsToComplete: false);
        await reader.DisposeAsync();
    }

    /// <summary>
    /// A connection for one subscription's blocking reads: nothing else is sent on it, so a read
    /// blocked in redis holds up no other command. Named <c>dapr-dev-sidecar-read-{group}</c> in <c>CLIENT LIST</c>.
    /// </summary>
    private async Task<ConnectionMultiplexer> ConnectReaderAsync(string group)
    {
        var config = _config.Clone();
        config.ClientName = "dapr-dev-sidecar-read-" + new string([.. group.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')]);
        // The read waits up to BlockFor in redis; leave room before the client calls it timed out.
        var timeout = (int)BlockFor.TotalMilliseconds + 10_000;
        config.AsyncTimeout = timeout;
        config.SyncTimeout = timeout;
        return await ConnectionMultiplexer.ConnectAsync(config);
    }

    private async Task ReadLoopAsync(ConnectionMultiplexer reader, string topic, string group, ChannelWriter<StreamEntry> queue, CancellationToken ct)
    {
        var db = reader.GetDatabase();
        // The consumer name is the group name, as components-contrib does: instances share one consumer.
        object[] args = ["GROUP", group, group, "COUNT", Options.QueueDepth, "BLOCK", (long)BlockFor.TotalMilliseconds, "STREAMS", topic, ">"];
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var result = await db.ExecuteAsync("XREADGROUP", args);
                foreach (var entry in RedisStreamEntries.ReadEntries(result))
                {
                    await queue.WriteAsync(entry, ct);
                }
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                // Unsubscribed: the reader connection was closed under the blocked read.
                return;
            }
            catch (RedisServerException ex) when (ex.Message.Contains("NOGROUP", StringComparison.Ordinal))
            {
                _log.LogWarning("redis streams: consumer group {Group} does not exist for stream {Stream}; recreating it", group, topic);
                await db.StreamCreateConsumerGroupAsync(topic, group, "0", createStream: true);
            }
            catch (Exception ex)
            {
                // Whatever it was (connection lost, an unexpected reply), keep the subscription reading.
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
                var message = RedisStreamEntries.ToMessage(topic, entry);
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
        ConnectionMultiplexer[] readers;
        lock (_loops)
        {
            loops = [.. _loops];
            readers = [.. _readers];
        }

        foreach (var reader in readers)
        {
            await CloseReaderAsync(reader);
        }

        await Task.WhenAll(loops).ContinueWith(_ => { }, TaskScheduler.Default);
        await _redis.DisposeAsync();
        _closing.Dispose();
    }

    private sealed class Subscription(RedisPubSub owner, CancellationTokenSource stop, ConnectionMultiplexer reader, List<Task> tasks) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await owner.CloseReaderAsync(reader);
            await Task.WhenAll(tasks).ContinueWith(_ => { }, TaskScheduler.Default);
            stop.Dispose();
        }
    }
}
