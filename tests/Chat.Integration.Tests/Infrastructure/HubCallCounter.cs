using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>
/// A hub filter a test adds to a gateway to count which hub methods each user called (for
/// example that a client resumed its connection without calling Sync).
/// </summary>
public sealed class HubCallCounter : IHubFilter
{
    private readonly ConcurrentDictionary<(string User, string Method), int> _calls = new();

    /// <summary>How often <paramref name="userId"/> called <paramref name="method"/>.</summary>
    public int Calls(string userId, string method) => _calls.GetValueOrDefault((userId, method));

    public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        _calls.AddOrUpdate((invocationContext.Context.UserIdentifier ?? "", invocationContext.HubMethodName), 1, (_, n) => n + 1);
        return next(invocationContext);
    }

    /// <summary>Adds the counter to every hub of the app being built.</summary>
    public void AddTo(Microsoft.AspNetCore.Builder.WebApplicationBuilder builder) =>
        builder.Services.Configure<HubOptions>(o => o.AddFilter(this));
}
