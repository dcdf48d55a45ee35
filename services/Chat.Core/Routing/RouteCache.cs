using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace Chat.Core.Routing;

/// <summary>Settings of <see cref="RouteCache"/> (section <c>Chat:RouteCache</c>).</summary>
public sealed class RouteCacheOptions
{
    public const string SectionName = "Chat:RouteCache";

    /// <summary>
    /// Off: every fan-out reads the routes from the store, and the instance neither registers
    /// nor gets invalidations. Each connect and disconnect costs one publish per caching instance,
    /// so a deployment whose connection churn times its router and delivery instances outgrows
    /// what it saves may turn it off.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long a cached route is used at most: the bound on staleness if an invalidation is lost.</summary>
    public TimeSpan EntryTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Most users cached; a full cache drops its expired entries, and everything if that frees less than a tenth.</summary>
    public int MaxUsers { get; set; } = 200_000;
}

/// <summary>
/// The gateway instances of recently addressed users, kept by every instance that fans out
/// (router, delivery), so a message to a known user needs no route read. Correct because the
/// only writer of routes, the user's UserActor, publishes <c>RoutesChanged</c> to every registered
/// cache after each change (<see cref="RouteChangeNotifier"/>), and this cache serves only while
/// its registration is known to every publisher (<see cref="Registered"/>). A read that an
/// invalidation overtook is used once and not cached (<see cref="Version"/>).
/// </summary>
public sealed class RouteCache(TimeProvider time, IOptions<RouteCacheOptions> options)
{
    private readonly ConcurrentDictionary<string, CachedRoute> _entries = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly long _ttl = (long)(options.Value.EntryTtl.TotalSeconds * time.TimestampFrequency);
    private long _version;
    private long _servingFrom = long.MaxValue;
    private long _servingUntil = long.MinValue;

    private sealed record CachedRoute(IReadOnlyList<string> Gateways, long Until);

    /// <summary>True while cached routes may be used: enabled, and registered long enough that every publisher sends here.</summary>
    public bool Serving
    {
        get
        {
            if (!options.Value.Enabled)
            {
                return false;
            }

            var now = time.GetTimestamp();
            return now >= Volatile.Read(ref _servingFrom) && now < Volatile.Read(ref _servingUntil);
        }
    }

    /// <summary>Changes with every invalidation; read before a route read and passed to <see cref="Store"/>.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Users cached now (for tests and diagnostics).</summary>
    public int Count => _entries.Count;

    /// <summary>The cached gateway instances of <paramref name="userId"/> (empty: not connected anywhere).</summary>
    public bool TryGet(string userId, [NotNullWhen(true)] out IReadOnlyList<string>? gateways)
    {
        if (_entries.TryGetValue(userId, out var entry) && entry.Until > time.GetTimestamp())
        {
            gateways = entry.Gateways;
            return true;
        }

        gateways = null;
        return false;
    }

    /// <summary>Caches routes read from the store, unless an invalidation came after <paramref name="versionBeforeRead"/>.</summary>
    public void Store(IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> routes, long versionBeforeRead)
    {
        lock (_gate)
        {
            if (_version != versionBeforeRead)
            {
                return;
            }

            var now = time.GetTimestamp();
            foreach (var (userId, gateways) in routes)
            {
                if (_entries.Count >= options.Value.MaxUsers && !_entries.ContainsKey(userId))
                {
                    MakeRoom(now);
                }

                _entries[userId] = new CachedRoute(gateways, now + _ttl);
            }
        }
    }

    /// <summary>Drops the cached routes of <paramref name="userIds"/> (their routes changed).</summary>
    public void Invalidate(IEnumerable<string> userIds)
    {
        lock (_gate)
        {
            _version++;
            foreach (var userId in userIds)
            {
                _entries.TryRemove(userId, out _);
            }
        }
    }

    /// <summary>
    /// The registration was written (sent at <paramref name="sentAt"/>) and lives until
    /// <paramref name="until"/> (timestamps of this TimeProvider). Serving starts
    /// <paramref name="grace"/> after the first write, once publishers that read the holder list
    /// before it have re-read it; after a lapse, the cache starts empty (it missed invalidations).
    /// </summary>
    public void Registered(long sentAt, long until, TimeSpan grace)
    {
        lock (_gate)
        {
            if (time.GetTimestamp() >= _servingUntil)
            {
                _entries.Clear();
                _version++;
                _servingFrom = sentAt + (long)(grace.TotalSeconds * time.TimestampFrequency);
            }

            Volatile.Write(ref _servingUntil, until);
        }
    }

    /// <summary>Stops serving at once (the registration was given up).</summary>
    public void Unregistered()
    {
        lock (_gate)
        {
            _servingUntil = long.MinValue;
            _entries.Clear();
            _version++;
        }
    }

    // Clearing unless a tenth is freed keeps a cache that stays full from scanning every entry on every insert.
    private void MakeRoom(long now)
    {
        foreach (var (userId, entry) in _entries)
        {
            if (entry.Until <= now)
            {
                _entries.TryRemove(userId, out _);
            }
        }

        if (_entries.Count > options.Value.MaxUsers * 9 / 10)
        {
            _entries.Clear();
        }
    }
}
