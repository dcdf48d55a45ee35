using Dapr.DevSidecar.Api;
using Dapr.DevSidecar.Hosting;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.Secrets;

/// <summary>The secrets building block as daprd runs it (store lookup and error codes), for gRPC and HTTP.</summary>
public sealed class SecretsApi(SidecarContext sidecar)
{
    public async Task<IReadOnlyDictionary<string, string>> GetAsync(string storeName, string name, IReadOnlyDictionary<string, string> metadata, CancellationToken ct)
    {
        var store = Resolve(storeName);
        IReadOnlyDictionary<string, string>? secret;
        try
        {
            secret = await store.GetSecretAsync(name, metadata, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw SecretGet($"failed getting secret with key {name} from secret store {storeName}: {ex.Message}");
        }

        // components-contrib stores answer an error for a missing secret; daprd reports it as ERR_SECRET_GET.
        return secret ?? throw SecretGet($"failed getting secret with key {name} from secret store {storeName}: secret {name} not found");
    }

    public async Task<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>> GetBulkAsync(string storeName, IReadOnlyDictionary<string, string> metadata, CancellationToken ct)
    {
        var store = Resolve(storeName);
        try
        {
            return await store.GetBulkSecretAsync(metadata, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw SecretGet($"failed getting secrets from secret store {storeName}: {ex.Message}");
        }
    }

    private ISecretStore Resolve(string storeName)
    {
        var stores = sidecar.Components.OfType<ISecretStore>().ToList();
        if (stores.Count == 0)
        {
            throw new DaprApiException("ERR_SECRET_STORES_NOT_CONFIGURED", "secret store is not configured", StatusCode.FailedPrecondition, StatusCodes.Status500InternalServerError);
        }

        return stores.FirstOrDefault(s => s.Definition.Name == storeName)?.Implementation as ISecretStore
            ?? throw new DaprApiException("ERR_SECRET_STORE_NOT_FOUND", $"failed finding secret store with key {storeName}", StatusCode.InvalidArgument, StatusCodes.Status401Unauthorized);
    }

    private static DaprApiException SecretGet(string message) => new("ERR_SECRET_GET", message, StatusCode.Internal, StatusCodes.Status500InternalServerError);
}
