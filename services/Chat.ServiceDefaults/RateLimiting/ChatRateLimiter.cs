using System.Collections.Frozen;
using Dapr.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chat.ServiceDefaults.RateLimiting;

/// <summary>One named limit, ready to use: in memory, or shared through Dapr state with the memory one as fallback.</summary>
public sealed partial class RateLimit
{
    private readonly SharedWindowCounter? _shared;
    private readonly ILogger _logger;

    internal RateLimit(string name, RateLimitPolicy policy, SharedWindowCounter? shared, TimeProvider time, ILogger logger)
    {
        Name = name;
        Policy = policy;
        Local = new TokenBuckets(policy, time);
        _shared = policy.Shared ? shared : null;
        _logger = logger;
    }

    public string Name { get; }

    public RateLimitPolicy Policy { get; }

    /// <summary>This instance's buckets (also the fallback of a shared limit).</summary>
    public TokenBuckets Local { get; }

    /// <summary>Counts one call of <paramref name="key"/> (a user id, usually). Completes synchronously for local limits.</summary>
    public ValueTask<RateDecision> AcquireAsync(string key, CancellationToken ct) =>
        _shared is null ? new(Local.TryTake(key)) : SharedAsync(key, ct);

    private async ValueTask<RateDecision> SharedAsync(string key, CancellationToken ct)
    {
        if (await _shared!.TryTakeAsync(Name, Policy, key, ct) is { } decision)
        {
            return decision;
        }

        // The state store is unreachable: keep limiting, per instance, rather than fail the call.
        LogSharedUnavailable(Name);
        return Local.TryTake(key);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shared rate limit {Policy} could not reach its state store; limiting per instance")]
    private partial void LogSharedUnavailable(string policy);
}

/// <summary>The named limits of an app, read once from configuration over code defaults.</summary>
public sealed class ChatRateLimiter
{
    private readonly FrozenDictionary<string, RateLimit> _limits;

    public ChatRateLimiter(IReadOnlyDictionary<string, RateLimitPolicy> policies, SharedWindowCounter? shared, TimeProvider time, ILoggerFactory logs)
    {
        var logger = logs.CreateLogger<ChatRateLimiter>();
        _limits = policies.ToFrozenDictionary(p => p.Key, p => new RateLimit(p.Key, p.Value, shared, time, logger), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Every limit, by name.</summary>
    public IReadOnlyDictionary<string, RateLimit> Limits => _limits;

    /// <summary>The limit called <paramref name="name"/>; throws for a name nobody configured (a typo must not mean "unlimited").</summary>
    public RateLimit this[string name] =>
        _limits.TryGetValue(name, out var limit) ? limit : throw new InvalidOperationException($"No rate limit named '{name}' is defined.");
}

/// <summary>Registration of <see cref="ChatRateLimiter"/>.</summary>
public static class RateLimitingExtensions
{
    /// <summary>
    /// Registers the app's limits: each of <paramref name="defaults"/>, overridden field by field
    /// from <c>{section}:{name}</c>. Shared limits count in <paramref name="sharedStore"/>
    /// through the app's <see cref="DaprClient"/>.
    /// </summary>
    public static IServiceCollection AddChatRateLimits(this IServiceCollection services, IConfiguration configuration, string section,
        string sharedStore, IReadOnlyDictionary<string, RateLimitPolicy> defaults)
    {
        services.AddChatDaprClient(configuration);
        services.AddSingleton(sp =>
        {
            var policies = new Dictionary<string, RateLimitPolicy>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, value) in defaults)
            {
                var policy = new RateLimitPolicy { Burst = value.Burst, PerSecond = value.PerSecond, Shared = value.Shared };
                configuration.GetSection($"{section}:{name}").Bind(policy);
                policy.Validate(name);
                policies[name] = policy;
            }

            var time = sp.GetService<TimeProvider>() ?? TimeProvider.System;
            return new ChatRateLimiter(policies, new SharedWindowCounter(sp.GetRequiredService<DaprClient>(), sharedStore, time), time,
                sp.GetRequiredService<ILoggerFactory>());
        });
        return services;
    }
}
