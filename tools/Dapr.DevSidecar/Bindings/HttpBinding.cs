using System.Net.Http.Headers;
using Dapr.DevSidecar.Components;

namespace Dapr.DevSidecar.Bindings;

/// <summary>
/// <c>bindings.http</c> as components-contrib implements it: operations create (POST), get, head,
/// post, put, patch, delete, options and trace against <c>url</c>; request metadata <c>path</c> is
/// appended to the URL, keys starting with an uppercase letter become headers, <c>errorIfNot2XX</c>
/// (default true) turns other statuses into errors; the response carries the body and metadata
/// <c>statusCode</c>, <c>status</c> and the response headers.
/// </summary>
public sealed class HttpBinding : IOutputBinding, IDisposable
{
    private static readonly HashSet<string> ContentHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Allow", "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
        "Content-Location", "Content-MD5", "Content-Range", "Content-Type", "Expires", "Last-Modified",
    };

    private static readonly string[] Ops = ["create", "get", "head", "post", "put", "patch", "delete", "options", "trace"];

    private readonly HttpClient _client = new(new SocketsHttpHandler { AllowAutoRedirect = true, UseCookies = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly string _url;
    private readonly bool _errorIfNot2XX;
    private readonly TimeSpan? _responseTimeout;
    private readonly (string Header, string Token)? _securityToken;

    public HttpBinding(ComponentDefinition def)
    {
        _url = def.Get("url") ?? throw new ComponentLoadException(def.SourceFile, "spec.metadata[url]", $"component '{def.Name}' needs url");
        if (!Uri.TryCreate(_url, UriKind.Absolute, out _))
        {
            throw new ComponentLoadException(def.SourceFile, "spec.metadata[url]", $"'{_url}' is not an absolute URL");
        }

        foreach (var unsupported in new[] { "MTLSRootCA", "MTLSClientCert", "MTLSClientKey" })
        {
            if (def.Get(unsupported) is not null)
            {
                throw new ComponentLoadException(def.SourceFile, $"spec.metadata[{unsupported}]", "mTLS is not implemented by the dev sidecar's bindings.http");
            }
        }

        _errorIfNot2XX = def.GetBool("errorIfNot2XX", fallback: true);
        _responseTimeout = def.Get("responseTimeout") is null ? null : MetadataDuration.Get(def, "responseTimeout", TimeSpan.Zero);
        if (def.Get("securityToken") is { } token && def.Get("securityTokenHeader") is { } header)
        {
            _securityToken = (header, token);
        }
    }

    public IReadOnlyList<string> Operations => Ops;

    public async Task<BindingResponse> InvokeAsync(BindingRequest request, CancellationToken cancellationToken)
    {
        var url = _url;
        if (request.Metadata.TryGetValue("path", out var path) && path.Length > 0)
        {
            url = _url.TrimEnd('/') + "/" + path.TrimStart('/');
        }

        var errorIfNot2XX = request.Metadata.TryGetValue("errorIfNot2XX", out var e) && e.Length > 0
            ? e.ToLowerInvariant() is "true" or "1" or "yes" or "y" or "on" or "t"
            : _errorIfNot2XX;
        var method = request.Operation.ToUpperInvariant() switch
        {
            "CREATE" or "POST" => HttpMethod.Post,
            "PUT" => HttpMethod.Put,
            "PATCH" => HttpMethod.Patch,
            "GET" => HttpMethod.Get,
            "HEAD" => HttpMethod.Head,
            "DELETE" => HttpMethod.Delete,
            "OPTIONS" => HttpMethod.Options,
            "TRACE" => HttpMethod.Trace,
            _ => throw new BindingException($"invalid operation: {request.Operation}"),
        };

        using var message = new HttpRequestMessage(method, url);
        if (method == HttpMethod.Post || method == HttpMethod.Put || method == HttpMethod.Patch)
        {
            message.Content = new ByteArrayContent(request.Data);
            if (!request.Metadata.ContainsKey("Content-Type"))
            {
                message.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json; charset=utf-8");
            }
        }

        if (!request.Metadata.ContainsKey("Accept"))
        {
            message.Headers.TryAddWithoutValidation("Accept", "application/json; charset=utf-8");
        }

        if (_securityToken is { } st)
        {
            message.Headers.TryAddWithoutValidation(st.Header, st.Token);
        }

        foreach (var (key, value) in request.Metadata)
        {
            if ((key.Length > 0 && char.IsAsciiLetterUpper(key[0])) || key is "traceparent" or "tracestate" or "baggage")
            {
                // Content-Type and the other content headers belong to the body (Remove on the
                // request headers would throw for them).
                if (ContentHeaders.Contains(key))
                {
                    message.Content ??= new ByteArrayContent([]);
                    message.Content.Headers.Remove(key);
                    message.Content.Headers.TryAddWithoutValidation(key, value);
                }
                else
                {
                    message.Headers.Remove(key);
                    message.Headers.TryAddWithoutValidation(key, value);
                }
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_responseTimeout is { } t && t > TimeSpan.Zero)
        {
            timeout.CancelAfter(t);
        }

        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(message, timeout.Token);
        }
        catch (HttpRequestException ex)
        {
            throw new BindingException($"{method} {url}: {ex.Message}");
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            var status = (int)response.StatusCode;
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["statusCode"] = status.ToString(System.Globalization.CultureInfo.InvariantCulture),
                // Go's http.Response.Status: "200 OK".
                ["status"] = $"{status} {response.ReasonPhrase}".TrimEnd(),
            };
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                metadata[name] = string.Join(", ", values);
            }

            var result = new BindingResponse(body, metadata);
            if (errorIfNot2XX && status / 100 != 2)
            {
                throw new BindingException($"received status code {status}", result);
            }

            return result;
        }
    }

    public void Dispose() => _client.Dispose();
}
