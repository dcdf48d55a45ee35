using Chat.Domain;
using Chat.ServiceDefaults.RateLimiting;
using Chat.Unit.Tests.Fakes;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chat.Unit.Tests.ServiceDefaults;

/// <summary>Rate limits shared by every instance of an app (fixed windows in Dapr state), and their fallback.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class SharedRateLimitTests
{
    private static readonly Dictionary<string, RateLimitPolicy> Policies = new()
    {
        ["Search"] = new() { Burst = 3, PerSecond = 0.5, Shared = true },
        ["Send"] = new() { Burst = 2, PerSecond = 1 },
    };

    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _time = FakeDaprClient.Noon();
    private readonly FakeDaprClient _dapr;

    public SharedRateLimitTests()
    {
        _dapr = FakeDaprClient.WithPresenceStore(_time);
    }

    /// <summary>One app instance: its own limiter over the shared store.</summary>
    private ChatRateLimiter Instance() =>
        new(Policies, new SharedWindowCounter(_dapr, DaprNames.StateStores.Presence, _time), _time, NullLoggerFactory.Instance);

    private static async Task<List<bool>> TakeAsync(ChatRateLimiter limiter, string policy, string user, int times)
    {
        var allowed = new List<bool>();
        for (var i = 0; i < times; i++)
        {
            allowed.Add((await limiter[policy].AcquireAsync(user, CancellationToken.None)).Allowed);
        }

        return allowed;
    }

    [Fact]
    public async Task Instances_draw_from_one_allowance_per_window()
    {
        var a = Instance();
        var b = Instance();

        Assert.Equal([true, true], await TakeAsync(a, "Search", "ann", 2));
        Assert.Equal([true, false], await TakeAsync(b, "Search", "ann", 2));
        Assert.Equal([true], await TakeAsync(b, "Search", "carl", 1)); // per user

        var refused = await a["Search"].AcquireAsync("ann", CancellationToken.None);
        Assert.True(refused.RetryAfter > TimeSpan.Zero && refused.RetryAfter <= Policies["Search"].Window);

        _time.Advance(Policies["Search"].Window);
        Assert.Equal([true], await TakeAsync(b, "Search", "ann", 1));
    }

    [Fact]
    public async Task Window_counters_expire_with_the_store_ttl()
    {
        await TakeAsync(Instance(), "Search", "ann", 1);
        var key = Assert.Single(_dapr.Keys(DaprNames.StateStores.Presence));

        Assert.Equal(_time.GetUtcNow() + Policies["Search"].Window + TimeSpan.FromSeconds(1), _dapr.ExpiresAt(DaprNames.StateStores.Presence, key));
    }

    [Fact]
    public async Task An_unreachable_store_falls_back_to_limiting_per_instance()
    {
        var limiter = Instance();
        _dapr.FailWrite = (_, _) => FakeDaprClient.Failed(StatusCode.Unavailable, "store down");

        Assert.Equal([true, true, true, false], await TakeAsync(limiter, "Search", "ann", 4));
    }

    [Fact]
    public async Task Local_limits_never_touch_the_store_and_unknown_names_are_an_error()
    {
        var limiter = Instance();

        Assert.Equal([true, true, false], await TakeAsync(limiter, "Send", "ann", 3));
        Assert.Empty(_dapr.Keys(DaprNames.StateStores.Presence));
        Assert.Throws<InvalidOperationException>(() => limiter["Sned"]);
    }
}
