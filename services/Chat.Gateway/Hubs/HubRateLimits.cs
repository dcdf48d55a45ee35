using System.Collections.Frozen;
using System.Globalization;
using System.Reflection;
using Chat.Domain;
using Chat.ServiceDefaults.RateLimiting;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Gateway.Hubs;

/// <summary>
/// Puts a hub method under the named per-user limit (<c>Gateway:RateLimits:{policy}</c>). Every
/// public hub method carries this or <see cref="NotRateLimitedAttribute"/>; a test checks it.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class RateLimitAttribute(string policy) : Attribute
{
    public string Policy { get; } = policy;
}

/// <summary>Marks a hub method that neither writes nor searches, with the reason it needs no limit.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class NotRateLimitedAttribute(string reason) : Attribute
{
    public string Reason { get; } = reason;
}

/// <summary>The gateway's limit names and their defaults (each overridable under <c>Gateway:RateLimits:{name}</c>).</summary>
public static class HubRatePolicies
{
    public const string Section = "Gateway:RateLimits";

    /// <summary>SendMessage: per instance (a user's connections are usually on one instance; the hot path stays in memory).</summary>
    public const string Send = "Send";

    /// <summary>UpdateReceipt: clients move cursors as messages arrive, so it is as frequent as receiving.</summary>
    public const string Receipt = "Receipt";

    /// <summary>SetTyping (besides its per-conversation throttle) and WatchPresence.</summary>
    public const string Presence = "Presence";

    /// <summary>FindUser, GetProfiles: shared across instances, since enumeration is what they guard against.</summary>
    public const string Search = "Search";

    /// <summary>CreateGroup, AddMembers: shared across instances (spam groups).</summary>
    public const string Groups = "Groups";

    /// <summary>Sync, GetHistory, ListConversations, GetReceipts, GetGroup, GetPrivacy, GetConversationSettings: reads, limited generously against scraping loops.</summary>
    public const string Read = "Read";

    /// <summary>UpdateAccessToken.</summary>
    public const string Token = "Token";

    /// <summary>RegisterDevice, UnregisterDevice, UpdatePrivacy, UpdateProfile, SetConversationSettings: writes to the caller's own account.</summary>
    public const string Account = "Account";

    /// <summary>LeaveGroup, RemoveMember, SetRole, RenameGroup: each one notifies every member (GroupChanged).</summary>
    public const string GroupAdmin = "GroupAdmin";

    /// <summary>CreateBot, DeleteBot: shared across instances (each bot is an account and a webhook).</summary>
    public const string Bots = "Bots";

    public static IReadOnlyDictionary<string, RateLimitPolicy> Defaults { get; } = new Dictionary<string, RateLimitPolicy>
    {
        [Send] = new() { Burst = 30, PerSecond = 10 },
        [Receipt] = new() { Burst = 60, PerSecond = 20 },
        [Presence] = new() { Burst = 30, PerSecond = 5 },
        [Search] = new() { Burst = 30, PerSecond = 0.5, Shared = true },
        [Groups] = new() { Burst = 10, PerSecond = 0.2, Shared = true },
        [Read] = new() { Burst = 200, PerSecond = 50 },
        [Token] = new() { Burst = 5, PerSecond = 0.1 },
        [Account] = new() { Burst = 20, PerSecond = 0.5 },
        [GroupAdmin] = new() { Burst = 20, PerSecond = 0.5 },
        [Bots] = new() { Burst = 10, PerSecond = 0.05, Shared = true },
    };
}

/// <summary>
/// Applies <see cref="RateLimitAttribute"/> before a hub method runs: past the limit the call
/// fails with <c>rate_limited</c> and a retry-after, and the method never runs. Which method has
/// which limit is worked out once, so a call costs one lookup by method name.
/// </summary>
public sealed class HubRateLimitFilter : IHubFilter
{
    private readonly FrozenDictionary<string, RateLimit> _byMethod;

    public HubRateLimitFilter(ChatRateLimiter limiter)
    {
        _byMethod = LimitedMethods(typeof(ChatHub))
            .ToFrozenDictionary(m => m.Method, m => limiter[m.Policy], StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The hub's methods that carry a limit, with its name.</summary>
    public static IEnumerable<(string Method, string Policy)> LimitedMethods(Type hub) =>
        hub.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => m.GetCustomAttribute<RateLimitAttribute>() is not null)
            .Select(m => (m.Name, m.GetCustomAttribute<RateLimitAttribute>()!.Policy));

    public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (!_byMethod.TryGetValue(invocationContext.HubMethodName, out var limit))
        {
            return next(invocationContext);
        }

        var user = invocationContext.Context.UserIdentifier
            ?? throw HubErrors.Create(ErrorCodes.Unauthenticated, "Not signed in.");
        var pending = limit.AcquireAsync(user, invocationContext.Context.ConnectionAborted);
        if (pending.IsCompletedSuccessfully)
        {
            var decision = pending.Result;
            return decision.Allowed ? next(invocationContext) : throw HubErrors.RateLimited(invocationContext.HubMethodName, decision.RetryAfter);
        }

        return AwaitThenInvoke(pending, invocationContext, next);
    }

    private static async ValueTask<object?> AwaitThenInvoke(ValueTask<RateDecision> pending, HubInvocationContext context, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        var decision = await pending;
        return decision.Allowed ? await next(context) : throw HubErrors.RateLimited(context.HubMethodName, decision.RetryAfter);
    }
}

/// <summary>The retry-after carried by rate_limited errors.</summary>
public static class RetryAfter
{
    /// <summary>The text clients parse: <c>retryAfterMs={n}</c>.</summary>
    public const string Marker = "retryAfterMs=";

    public static string Format(TimeSpan retryAfter) =>
        Marker + ((long)Math.Ceiling(retryAfter.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);
}
