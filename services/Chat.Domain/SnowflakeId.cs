namespace Chat.Domain;

/// <summary>
/// A 63-bit time-ordered id: 41 bits of milliseconds since <see cref="Epoch"/>, 10 bits of
/// worker id and 12 bits of per-millisecond sequence. Ids from one worker are strictly
/// increasing; ids from different workers order by time to the millisecond.
/// </summary>
public readonly record struct SnowflakeId(long Value) : IComparable<SnowflakeId>
{
    public const int TimestampBits = 41;
    public const int WorkerBits = 10;
    public const int SequenceBits = 12;
    public const long MaxWorkerId = (1L << WorkerBits) - 1;
    public const long MaxSequence = (1L << SequenceBits) - 1;
    public const long MaxTimestamp = (1L << TimestampBits) - 1;

    /// <summary>The custom epoch (2024-01-01 UTC); 41 bits of milliseconds last until 2093.</summary>
    public static readonly DateTimeOffset Epoch = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Milliseconds since <see cref="Epoch"/>.</summary>
    public long Timestamp => Value >> (WorkerBits + SequenceBits);

    /// <summary>The worker (0..1023) that made the id.</summary>
    public int WorkerId => (int)((Value >> SequenceBits) & MaxWorkerId);

    /// <summary>The position within its millisecond (0..4095).</summary>
    public int Sequence => (int)(Value & MaxSequence);

    /// <summary>The wall-clock time the id was made at, to the millisecond.</summary>
    public DateTimeOffset CreatedAt => Epoch.AddMilliseconds(Timestamp);

    /// <summary>Packs the three parts; each must be in range.</summary>
    public static SnowflakeId Compose(long timestamp, int workerId, int sequence)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(timestamp);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(timestamp, MaxTimestamp);
        ArgumentOutOfRangeException.ThrowIfNegative(workerId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(workerId, MaxWorkerId);
        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sequence, MaxSequence);
        return new SnowflakeId((timestamp << (WorkerBits + SequenceBits)) | ((long)workerId << SequenceBits) | (long)sequence);
    }

    public int CompareTo(SnowflakeId other) => Value.CompareTo(other.Value);

    public static bool operator <(SnowflakeId left, SnowflakeId right) => left.Value < right.Value;
    public static bool operator >(SnowflakeId left, SnowflakeId right) => left.Value > right.Value;
    public static bool operator <=(SnowflakeId left, SnowflakeId right) => left.Value <= right.Value;
    public static bool operator >=(SnowflakeId left, SnowflakeId right) => left.Value >= right.Value;

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Thrown when the clock steps back further than the generator is willing to wait.</summary>
public sealed class ClockMovedBackwardsException(long lastTimestamp, long nowTimestamp)
    : InvalidOperationException(
        $"The system clock moved back {lastTimestamp - nowTimestamp} ms (last id at {lastTimestamp}, now {nowTimestamp}); " +
        "refusing to issue ids that could repeat or go out of order.")
{
    public long LastTimestamp { get; } = lastTimestamp;
    public long NowTimestamp { get; } = nowTimestamp;
}

/// <summary>
/// Issues <see cref="SnowflakeId"/>s for one worker: up to 4,096 per millisecond, strictly
/// increasing. When the clock steps back it waits for it to catch up, up to
/// <c>maxClockRollback</c>; beyond that it throws <see cref="ClockMovedBackwardsException"/>.
/// Thread-safe.
/// </summary>
public sealed class SnowflakeIdGenerator
{
    private readonly TimeProvider _time;
    private readonly long _maxRollbackMs;
    private readonly Lock _gate = new();
    private long _lastTimestamp = -1;
    private long _sequence;

    public SnowflakeIdGenerator(int workerId, TimeProvider? time = null, TimeSpan? maxClockRollback = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(workerId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(workerId, (int)SnowflakeId.MaxWorkerId);
        WorkerId = workerId;
        _time = time ?? TimeProvider.System;
        _maxRollbackMs = (long)(maxClockRollback ?? TimeSpan.FromSeconds(1)).TotalMilliseconds;
    }

    /// <summary>The worker id written into every id (0..1023).</summary>
    public int WorkerId { get; }

    /// <summary>Returns the next id.</summary>
    public SnowflakeId Next()
    {
        lock (_gate)
        {
            var now = CurrentMillis();
            if (now < _lastTimestamp)
            {
                if (_lastTimestamp - now > _maxRollbackMs)
                {
                    throw new ClockMovedBackwardsException(_lastTimestamp, now);
                }

                now = WaitUntil(_lastTimestamp);
            }

            if (now == _lastTimestamp)
            {
                _sequence = (_sequence + 1) & SnowflakeId.MaxSequence;
                if (_sequence == 0)
                {
                    // 4,096 ids this millisecond: move on to the next one.
                    now = WaitUntil(_lastTimestamp + 1);
                }
            }
            else
            {
                _sequence = 0;
            }

            _lastTimestamp = now;
            return SnowflakeId.Compose(now, WorkerId, (int)_sequence);
        }
    }

    private long CurrentMillis()
    {
        var ms = (_time.GetUtcNow() - SnowflakeId.Epoch).Ticks / TimeSpan.TicksPerMillisecond;
        if (ms is < 0 or > SnowflakeId.MaxTimestamp)
        {
            throw new InvalidOperationException($"The clock ({_time.GetUtcNow():O}) is outside the Snowflake id range starting {SnowflakeId.Epoch:O}.");
        }

        return ms;
    }

    private long WaitUntil(long target)
    {
        var spinner = new SpinWait();
        long now;
        while ((now = CurrentMillis()) < target)
        {
            spinner.SpinOnce(sleep1Threshold: 20);
        }

        return now;
    }
}
