using System.Globalization;
using Chat.Domain;
using Dapr;
using Dapr.Client;
using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.ServiceDefaults;

/// <summary>Settings of <see cref="WorkerIdLease"/> (section <c>Chat:WorkerIdLease</c>).</summary>
public sealed class WorkerIdLeaseOptions
{
    public const string SectionName = "Chat:WorkerIdLease";

    /// <summary>How long a lease lives in the store without renewal.</summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often it is renewed (a third of the TTL unless configured).</summary>
    public TimeSpan? RenewEvery { get; set; }

    /// <summary>How long start-up waits for a first lease before going on without one (minting refuses meanwhile).</summary>
    public TimeSpan StartupWait { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>The Snowflake worker id to try first.</summary>
public static class WorkerIds
{
    /// <summary>
    /// <c>Chat:WorkerId</c> (or CHAT_WORKER_ID), e.g. the pod ordinal, else a random one. It is only
    /// a preference: <see cref="WorkerIdLease"/> takes the next free id when it is leased already.
    /// </summary>
    public static int Preferred(IConfiguration configuration)
    {
        var configured = configuration["Chat:WorkerId"] ?? configuration["CHAT_WORKER_ID"];
        return int.TryParse(configured, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id is >= 0 and <= (int)SnowflakeId.MaxWorkerId
            ? id
            : Random.Shared.Next(0, (int)SnowflakeId.MaxWorkerId + 1);
    }
}

/// <summary>Thrown instead of minting an id while this instance holds no worker-id lease.</summary>
public sealed class WorkerIdUnavailableException()
    : InvalidOperationException("This instance holds no Snowflake worker-id lease right now (the state store is unreachable or the lease was lost); no ids are issued until it does.");

/// <summary>
/// Leases a Snowflake worker id so no two live instances of an app use the same one: key
/// <c>workerid:{n}</c> in the presence store (short-lived entries with TTL, like the gateways'
/// leases), created by a first write (which fails if someone holds it) with a TTL, and renewed
/// under its ETag. The lease counts locally until TTL minus a renewal period after the write was
/// sent, so it stops counting here before the store could hand it to anyone else. Losing it
/// (renewal refused or failing past that time) stops minting until a lease is held again.
/// </summary>
public sealed partial class WorkerIdLease(DaprClient dapr, IConfiguration configuration, IOptions<WorkerIdLeaseOptions> options, TimeProvider time, ILogger<WorkerIdLease> log)
    : IHostedService, IDisposable
{
    private const string Store = DaprNames.StateStores.Presence;
    private static readonly StateOptions Guarded = new() { Concurrency = ConcurrencyMode.FirstWrite, Consistency = ConsistencyMode.Strong };
    private readonly ILogger _logger = log;
    private readonly string _holder = Guid.NewGuid().ToString("N");
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private Held? _held;

    /// <summary>The last failure of a lease call (for health reports and diagnosis).</summary>
    public Exception? LastError { get; private set; }

    /// <summary>The leased worker id, or null while none is held.</summary>
    public int? WorkerId => Current(out var id) ? id : null;

    /// <summary>The key of worker id <paramref name="id"/>.</summary>
    public static string Key(int id) => "workerid:" + id.ToString(CultureInfo.InvariantCulture);

    /// <summary>True with the worker id while the lease is valid here.</summary>
    public bool Current(out int workerId)
    {
        var held = Volatile.Read(ref _held);
        if (held is not null && time.GetTimestamp() < held.ValidUntil)
        {
            workerId = held.Id;
            return true;
        }

        workerId = -1;
        return false;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(options.Value.StartupWait);
        try
        {
            while (!wait.IsCancellationRequested && !await TryAcquireAsync(wait.Token))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), time, wait.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The startup wait ran out inside a call (a slow or still-starting sidecar): start anyway.
            // The renew loop keeps trying, and ids are minted once a lease is held.
        }

        _loop = RenewLoopAsync(_stopping.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        var held = Interlocked.Exchange(ref _held, null);
        if (held is not null)
        {
            try
            {
                // A clean stop frees the id at once instead of after the TTL.
                await dapr.TryDeleteStateAsync(Store, Key(held.Id), held.ETag ?? "", Guarded, cancellationToken: cancellationToken);
            }
            catch (DaprException ex)
            {
                LogLeaseError(ex, held.Id);
            }
        }
    }

    public void Dispose() => _stopping.Dispose();

    private async Task RenewLoopAsync(CancellationToken ct)
    {
        var every = options.Value.RenewEvery ?? options.Value.Ttl / 3;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, time, ct);
                if (Volatile.Read(ref _held) is null)
                {
                    await TryAcquireAsync(ct);
                }
                else
                {
                    await RenewAsync(ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Whatever failed, keep renewing: the lease stays valid locally until ValidUntil and minting stops after that.
                LastError = ex;
                LogLeaseError(ex, Volatile.Read(ref _held)?.Id ?? -1);
            }
        }
    }

    private async Task<bool> TryAcquireAsync(CancellationToken ct)
    {
        var first = WorkerIds.Preferred(configuration);
        try
        {
            for (var i = 0; i <= SnowflakeId.MaxWorkerId; i++)
            {
                var id = (int)((first + i) % (SnowflakeId.MaxWorkerId + 1));
                var sentAt = time.GetTimestamp();
                try
                {
                    await dapr.SaveStateAsync(Store, Key(id), new LeaseValue(_holder, time.GetUtcNow()), Guarded, TtlMetadata(), ct);
                }
                catch (DaprException ex) when (ex.InnerException is RpcException { StatusCode: StatusCode.Aborted })
                {
                    continue; // Held by another instance.
                }

                var (_, etag) = await dapr.GetStateAndETagAsync<LeaseValue?>(Store, Key(id), ConsistencyMode.Strong, cancellationToken: ct);
                Volatile.Write(ref _held, new Held(id, etag, ValidUntil(sentAt)));
                LogAcquired(id);
                return true;
            }

            LogNoneFree();
            return false;
        }
        catch (Exception ex) when (ex is DaprException or RpcException or HttpRequestException)
        {
            LastError = ex;
            LogLeaseError(ex, -1);
            return false;
        }
    }

    private async Task RenewAsync(CancellationToken ct)
    {
        var held = Volatile.Read(ref _held)!;
        var sentAt = time.GetTimestamp();
        var (value, etag) = await dapr.GetStateAndETagAsync<LeaseValue?>(Store, Key(held.Id), ConsistencyMode.Strong, cancellationToken: ct);
        if (value?.Holder != _holder
            || !await dapr.TrySaveStateAsync(Store, Key(held.Id), value with { RenewedAt = time.GetUtcNow() }, etag, Guarded, TtlMetadata(), ct))
        {
            // Expired and taken by someone else (or removed): stop minting with this id, look for another.
            Interlocked.CompareExchange(ref _held, null, held);
            LogLost(held.Id);
            await TryAcquireAsync(ct);
            return;
        }

        var (_, newETag) = await dapr.GetStateAndETagAsync<LeaseValue?>(Store, Key(held.Id), ConsistencyMode.Strong, cancellationToken: ct);
        Interlocked.CompareExchange(ref _held, new Held(held.Id, newETag, ValidUntil(sentAt)), held);
    }

    // Counted from before the write was sent, less one renewal period of safety.
    private long ValidUntil(long sentAt)
    {
        var o = options.Value;
        var valid = o.Ttl - (o.RenewEvery ?? o.Ttl / 3);
        return sentAt + (long)(valid.TotalSeconds * time.TimestampFrequency);
    }

    private IReadOnlyDictionary<string, string> TtlMetadata() => DaprStateMetadata.Ttl(options.Value.Ttl);

    private sealed record Held(int Id, string? ETag, long ValidUntil);

    /// <summary>The stored lease.</summary>
    public sealed record LeaseValue(string Holder, DateTimeOffset RenewedAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Leased Snowflake worker id {WorkerId}")]
    private partial void LogAcquired(int workerId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the lease of Snowflake worker id {WorkerId}; minting stops until a new lease is held")]
    private partial void LogLost(int workerId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Every Snowflake worker id is leased; minting stays off")]
    private partial void LogNoneFree();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker-id lease call failed (worker id {WorkerId})")]
    private partial void LogLeaseError(Exception ex, int workerId);
}

/// <summary>
/// Snowflake ids under a <see cref="WorkerIdLease"/>: each id is minted with the leased worker
/// id, and none while no lease is held (<see cref="WorkerIdUnavailableException"/>).
/// </summary>
public sealed class LeasedSnowflakeIds(WorkerIdLease lease)
{
    private SnowflakeIdGenerator? _generator;

    /// <summary>The next id, or <see cref="WorkerIdUnavailableException"/> without a lease.</summary>
    public SnowflakeId Next()
    {
        if (!lease.Current(out var workerId))
        {
            throw new WorkerIdUnavailableException();
        }

        var generator = Volatile.Read(ref _generator);
        if (generator is null || generator.WorkerId != workerId)
        {
            generator = new SnowflakeIdGenerator(workerId);
            Volatile.Write(ref _generator, generator);
        }

        return generator.Next();
    }
}
