namespace Dapr.DevSidecar.Secrets;

/// <summary>A secret store component: a secret is a map of keys to values.</summary>
public interface ISecretStore
{
    /// <summary>The secret, or null when it does not exist.</summary>
    Task<IReadOnlyDictionary<string, string>?> GetSecretAsync(string name, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken);

    /// <summary>Every secret the store holds.</summary>
    Task<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>> GetBulkSecretAsync(IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken);
}
