using Dapr.Client.Autogen.Grpc.v1;
using Dapr.DevSidecar.Secrets;
using Grpc.Core;

namespace Dapr.DevSidecar.Api;

public partial class DaprGrpcService
{
    static partial void BindSecrets(ServiceBinderBase binder, DaprGrpcService? service)
    {
        Unary(binder, "GetSecret", GetSecretRequest.Parser, GetSecretResponse.Parser, service is null ? null : service.GetSecret);
        Unary(binder, "GetBulkSecret", GetBulkSecretRequest.Parser, GetBulkSecretResponse.Parser, service is null ? null : service.GetBulkSecret);
    }

    public virtual Task<GetSecretResponse> GetSecret(GetSecretRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            var secret = await new SecretsApi(Sidecar).GetAsync(request.StoreName, request.Key, request.Metadata, context.CancellationToken);
            var response = new GetSecretResponse();
            response.Data.Add(secret.ToDictionary());
            return response;
        });

    public virtual Task<GetBulkSecretResponse> GetBulkSecret(GetBulkSecretRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            var secrets = await new SecretsApi(Sidecar).GetBulkAsync(request.StoreName, request.Metadata, context.CancellationToken);
            var response = new GetBulkSecretResponse();
            foreach (var (name, values) in secrets)
            {
                var item = new SecretResponse();
                item.Secrets.Add(values.ToDictionary());
                response.Data[name] = item;
            }

            return response;
        });
}
