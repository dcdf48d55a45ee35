using System.Collections.Concurrent;
using Chat.Domain;
using Dapr.Client;

namespace Chat.Delivery.Push;

/// <summary>Push secrets from <c>chat-secrets</c>, read on first use and kept (a failed read is tried again next time).</summary>
public sealed class PushSecrets(DaprClient dapr)
{
    private readonly ConcurrentDictionary<string, string> _values = new(StringComparer.Ordinal);

    public async Task<string> GetAsync(string name, CancellationToken ct)
    {
        if (_values.TryGetValue(name, out var cached))
        {
            return cached;
        }

        var secret = await dapr.GetSecretAsync(DaprNames.Secrets.Store, name, cancellationToken: ct);
        var value = secret.TryGetValue(name, out var v) ? v : secret.Values.FirstOrDefault() ?? "";
        return _values.GetOrAdd(name, value);
    }
}
