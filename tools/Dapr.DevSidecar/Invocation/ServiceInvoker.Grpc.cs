using System.Globalization;
using System.Net.Http.Headers;
using Dapr.Client.Autogen.Grpc.v1;
using Dapr.DevSidecar.Api;
using Dapr.DevSidecar.Hosting;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.Invocation;

/// <summary>The InvokeService RPC, and HTTP invocation of apps whose protocol is gRPC (AppCallback/OnInvoke).</summary>
internal sealed partial class ServiceInvoker
{
    private static readonly Method<InvokeRequest, InvokeResponse> OnInvoke =
        AppConnections.AppCallbackMethod("OnInvoke", InvokeRequest.Parser, InvokeResponse.Parser);

    /// <summary>Metadata and headers that belong to a hop, never forwarded as user metadata.</summary>
    private static bool IsTransportHeader(string name) =>
        name.StartsWith(':') || name.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase)
        || name is "content-type" or "te" or "user-agent" or "host" or "content-length" or "connection" or "transfer-encoding"
        || IsSidecarHeader(name);

    /// <summary><c>dapr.proto.runtime.v1.Dapr/InvokeService</c>.</summary>
    public async Task<InvokeResponse> InvokeServiceAsync(InvokeServiceRequest request, ServerCallContext context)
    {
        var target = Resolve(request.Id);
        var message = request.Message ?? new InvokeRequest();
        return target.AppProtocol == "grpc"
            ? await InvokeGrpcAppAsync(target, message, context)
            : await InvokeHttpAppAsync(target, message, context);
    }

    private async Task<InvokeResponse> InvokeGrpcAppAsync(AppInstance target, InvokeRequest message, ServerCallContext context)
    {
        var headers = new Metadata();
        foreach (var entry in context.RequestHeaders)
        {
            if (!IsTransportHeader(entry.Key))
            {
                headers.Add(entry);
            }
        }

        AddInvocationHeaders(headers.Add, target);
        var invoker = AppConnections.GrpcTo(target.AppChannelAddress, target.AppPort!.Value).CreateCallInvoker();
        try
        {
            using var call = invoker.AsyncUnaryCall(OnInvoke, null, new CallOptions(headers, context.Deadline, context.CancellationToken), message);
            var response = await call.ResponseAsync;
            return response;
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Unavailable)
        {
            // The app's own status goes back to the caller unchanged, as daprd does.
            throw new RpcException(ex.Status, ex.Trailers);
        }
        catch (RpcException ex)
        {
            throw DirectInvokeError(target.AppId, ex.Status.Detail).ToRpcException();
        }
    }

    private async Task<InvokeResponse> InvokeHttpAppAsync(AppInstance target, InvokeRequest message, ServerCallContext context)
    {
        var verb = message.HttpExtension?.Verb is { } v && v != HTTPExtension.Types.Verb.None ? v.ToString().ToUpperInvariant() : "POST";
        var query = string.IsNullOrEmpty(message.HttpExtension?.Querystring) ? "" : "?" + message.HttpExtension.Querystring;
        using var http = new HttpRequestMessage(new HttpMethod(verb), $"http://{target.AppChannelAddress}:{target.AppPort}/{message.Method.TrimStart('/')}{query}");
        var body = message.Data?.Value ?? ByteString.Empty;
        if (body.Length > 0 || !string.IsNullOrEmpty(message.ContentType))
        {
            http.Content = new ByteArrayContent(body.ToByteArray());
            if (!string.IsNullOrEmpty(message.ContentType) && MediaTypeHeaderValue.TryParse(message.ContentType, out var ct))
            {
                http.Content.Headers.ContentType = ct;
            }
        }

        foreach (var entry in context.RequestHeaders)
        {
            if (!entry.IsBinary && !IsTransportHeader(entry.Key))
            {
                http.Headers.TryAddWithoutValidation(entry.Key, entry.Value);
            }
        }

        AddInvocationHeaders((k, val) => http.Headers.TryAddWithoutValidation(k, val), target);
        HttpResponseMessage response;
        try
        {
            response = await AppConnections.Http.SendAsync(http, HttpCompletionOption.ResponseContentRead, context.CancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw DirectInvokeError(target.AppId, ex.Message).ToRpcException();
        }

        using (response)
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(context.CancellationToken);
            var status = (int)response.StatusCode;
            await context.WriteResponseHeadersAsync(new Metadata { { "dapr-http-status", status.ToString(CultureInfo.InvariantCulture) } });
            var code = CodeFromHttpStatus(status);
            if (code != StatusCode.OK)
            {
                // daprd: the gRPC code mapped from the HTTP status, with its reason phrase.
                throw new RpcException(new Status(code, response.ReasonPhrase ?? status.ToString(CultureInfo.InvariantCulture)));
            }

            return new InvokeResponse
            {
                Data = new Any { Value = ByteString.CopyFrom(bytes) },
                ContentType = response.Content.Headers.ContentType?.ToString() ?? "",
            };
        }
    }

    /// <summary>HTTP invocation of a gRPC app: the request becomes an AppCallback/OnInvoke call.</summary>
    private async Task InvokeGrpcAppFromHttpAsync(HttpContext context, AppInstance target, string method)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var verb = System.Enum.TryParse<HTTPExtension.Types.Verb>(context.Request.Method, ignoreCase: true, out var v) ? v : HTTPExtension.Types.Verb.Post;
        var message = new InvokeRequest
        {
            Method = Uri.UnescapeDataString(method),
            Data = new Any { Value = ByteString.CopyFrom(buffer.GetBuffer(), 0, (int)buffer.Length) },
            ContentType = context.Request.ContentType ?? "",
            HttpExtension = new HTTPExtension { Verb = verb, Querystring = context.Request.QueryString.HasValue ? context.Request.QueryString.Value![1..] : "" },
        };
        var headers = new Metadata();
        foreach (var header in context.Request.Headers)
        {
            var name = header.Key.ToLowerInvariant();
            if (!IsTransportHeader(name))
            {
                foreach (var value in header.Value)
                {
                    headers.Add(name, value ?? "");
                }
            }
        }

        AddInvocationHeaders(headers.Add, target);
        var invoker = AppConnections.GrpcTo(target.AppChannelAddress, target.AppPort!.Value).CreateCallInvoker();
        try
        {
            using var call = invoker.AsyncUnaryCall(OnInvoke, null, new CallOptions(headers, cancellationToken: context.RequestAborted), message);
            var response = await call.ResponseAsync;
            context.Response.StatusCode = StatusCodes.Status200OK;
            if (!string.IsNullOrEmpty(response.ContentType))
            {
                context.Response.ContentType = response.ContentType;
            }

            if (response.Data is { } data)
            {
                await context.Response.Body.WriteAsync(data.Value.Memory, context.RequestAborted);
            }
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Unavailable)
        {
            // daprd answers the HTTP status mapped from the gRPC code, with the status as JSON.
            context.Response.StatusCode = HttpStatusFromCode(ex.StatusCode);
            await context.Response.WriteAsJsonAsync(new { code = (int)ex.StatusCode, message = ex.Status.Detail, details = Array.Empty<object>() }, context.RequestAborted);
        }
        catch (RpcException ex)
        {
            await DirectInvokeError(target.AppId, ex.Status.Detail).ToHttpResult().ExecuteAsync(context);
        }
    }
}
