using System.Text.Json;
using Dapr.Client.Autogen.Grpc.v1;
using Dapr.DevSidecar.Bindings;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Dapr.DevSidecar.Bindings
{
    /// <summary>Output bindings as daprd runs them: lookup, operation check, and ERR_INVOKE_OUTPUT_BINDING errors.</summary>
    public sealed class BindingsApi(SidecarContext sidecar)
    {
        public async Task<BindingResponse> InvokeAsync(string name, BindingRequest request, CancellationToken ct)
        {
            try
            {
                if (string.IsNullOrEmpty(request.Operation))
                {
                    throw new BindingException("operation field is missing from request");
                }

                var binding = sidecar.Components.Get<IOutputBinding>(name) ?? throw new BindingException($"couldn't find output binding {name}");
                if (!binding.Operations.Contains(request.Operation, StringComparer.Ordinal))
                {
                    throw new BindingException($"binding {name} does not support operation {request.Operation}. supported operations:{string.Join(" ", binding.Operations)}");
                }

                return await binding.InvokeAsync(request, ct);
            }
            catch (BindingException ex)
            {
                throw new BindingInvokeException(name, ex);
            }
        }
    }

    /// <summary>A failed binding call as the API reports it (HTTP 500 / gRPC Internal), with the binding's response metadata when it has one.</summary>
    public sealed class BindingInvokeException(string name, BindingException inner)
        : Exception($"error invoking output binding {name}: {inner.Message}", inner)
    {
        public const string ErrorCode = "ERR_INVOKE_OUTPUT_BINDING";

        public BindingResponse? Response { get; } = inner.Response;
    }
}

namespace Dapr.DevSidecar.Components
{
    public static partial class ComponentTypes
    {
        static partial void AddBindingTypes(Dictionary<string, Func<ComponentDefinition, ComponentRuntime, object>> factories)
        {
            factories["bindings.http"] = (def, _) => new HttpBinding(def);
            factories["bindings.apns"] = (def, rt) => new ApnsBinding(def, rt.Time);
            factories["bindings.localstorage"] = (def, _) => new LocalStorageBinding(def);
        }
    }
}

namespace Dapr.DevSidecar.Hosting
{
    internal static partial class SidecarServices
    {
        static partial void AddBindings(IServiceCollection services, SidecarContext context) => services.AddSingleton<BindingsApi>();
    }
}

namespace Dapr.DevSidecar.Api
{
    public partial class DaprGrpcService
    {
        static partial void BindBindings(ServiceBinderBase binder, DaprGrpcService? service) =>
            Unary(binder, "InvokeBinding", InvokeBindingRequest.Parser, InvokeBindingResponse.Parser, service is null ? null : service.InvokeBinding);

        public virtual async Task<InvokeBindingResponse> InvokeBinding(InvokeBindingRequest request, ServerCallContext context)
        {
            var metadata = new Dictionary<string, string>(request.Metadata, StringComparer.Ordinal);
            foreach (var key in new[] { "traceparent", "tracestate" })
            {
                if (!metadata.ContainsKey(key) && context.RequestHeaders.GetValue(key) is { } value)
                {
                    metadata[key] = value;
                }
            }

            try
            {
                var response = await Services.GetRequiredService<BindingsApi>().InvokeAsync(request.Name,
                    new BindingRequest(request.Operation, request.Data.ToByteArray(), metadata), context.CancellationToken);
                var result = new InvokeBindingResponse { Data = ByteString.CopyFrom(response.Data) };
                result.Metadata.Add(response.Metadata.ToDictionary());
                return result;
            }
            catch (BindingInvokeException ex)
            {
                throw new RpcException(new Status(StatusCode.Internal, ex.Message));
            }
        }
    }

    public static partial class HttpApi
    {
        static partial void MapBindings(RouteGroupBuilder v1, SidecarContext context) =>
            v1.MapPost("/bindings/{name}", async (string name, HttpContext http, BindingsApi api) =>
            {
                JsonElement body;
                try
                {
                    body = await JsonSerializer.DeserializeAsync<JsonElement>(http.Request.Body, cancellationToken: http.RequestAborted);
                }
                catch (JsonException ex)
                {
                    return DaprApiException.InvalidArgument("ERR_MALFORMED_REQUEST", $"failed deserializing HTTP body: {ex.Message}").ToHttpResult();
                }

                var operation = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("operation", out var op) && op.ValueKind == JsonValueKind.String ? op.GetString()! : "";
                // daprd re-serializes "data" as JSON: a string arrives at the binding quoted.
                var data = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("data", out var d) ? d.GetRawText() : "null";
                var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("metadata", out var md) && md.ValueKind == JsonValueKind.Object)
                {
                    foreach (var p in md.EnumerateObject())
                    {
                        metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
                    }
                }

                if (http.Request.Headers.TryGetValue("traceparent", out var tp))
                {
                    metadata["traceparent"] = tp.ToString();
                }

                try
                {
                    var response = await api.InvokeAsync(name, new BindingRequest(operation, System.Text.Encoding.UTF8.GetBytes(data), metadata), http.RequestAborted);
                    AddMetadataHeaders(http, response);
                    return Results.Bytes(response.Data, contentType: null);
                }
                catch (BindingInvokeException ex)
                {
                    AddMetadataHeaders(http, ex.Response);
                    return Results.Json(new { errorCode = BindingInvokeException.ErrorCode, message = ex.Message }, statusCode: StatusCodes.Status500InternalServerError);
                }
            });

        /// <summary>daprd returns a binding's response metadata as <c>metadata.&lt;key&gt;</c> headers.</summary>
        private static void AddMetadataHeaders(HttpContext http, BindingResponse? response)
        {
            foreach (var (key, value) in response?.Metadata ?? new Dictionary<string, string>())
            {
                http.Response.Headers.Append("metadata." + key, value);
            }
        }
    }
}
