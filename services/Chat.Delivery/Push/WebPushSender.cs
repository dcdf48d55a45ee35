using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Chat.Contracts.V1;
using Chat.Domain;
using Dapr;
using Dapr.Client;
using Lib.Net.Http.WebPush;
using Lib.Net.Http.WebPush.Authentication;
using Microsoft.Extensions.Options;

namespace Chat.Delivery.Push;

/// <summary>
/// Browser pushes through <c>push-webpush</c> (<c>bindings.http</c>). Lib.Net.Http.WebPush builds
/// the request (aes128gcm payload encryption for the subscription's keys, VAPID
/// <c>Authorization: vapid t=…, k=…</c>, <c>TTL</c>, <c>Urgency</c>, <c>Topic</c>);
/// <see cref="BindingHandler"/> sends that request through the binding instead of the network.
/// </summary>
/// <remarks>
/// bindings.http only appends <c>path</c> to its one url, while every subscription has its own
/// push service. So each call carries the endpoint's path as <c>path</c> and the whole endpoint as
/// the <c>Push-Endpoint</c> header: locally the binding url is the push service's origin (the test
/// fakes, or the gateway's push sink), and in production it is an egress relay that forwards the
/// request to <c>Push-Endpoint</c> (components/production/push-webpush.yaml).
/// </remarks>
public sealed class WebPushSender : IPushSender, IDisposable
{
    private readonly PushSecrets _secrets;
    private readonly IOptionsMonitor<PushOptions> _options;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _init = new(1, 1);
    private VapidAuthentication? _vapid;

    public WebPushSender(DaprClient dapr, PushSecrets secrets, IOptionsMonitor<PushOptions> options)
    {
        _secrets = secrets;
        _options = options;
        _http = new HttpClient(new BindingHandler(dapr, DaprNames.Bindings.WebPush, () => _vapid)) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public PushPlatform Platform => PushPlatform.Webpush;

    public async Task<PushResult> SendAsync(Device device, PushContent content, CancellationToken ct)
    {
        var vapid = _vapid ?? await InitAsync(ct);
        var subscription = new PushSubscription { Endpoint = device.WebPush.Endpoint };
        subscription.SetKey(PushEncryptionKeyName.P256DH, device.WebPush.P256Dh);
        subscription.SetKey(PushEncryptionKeyName.Auth, device.WebPush.Auth);
        var message = new PushMessage(Payload(content))
        {
            Topic = content.WebPushTopic,
            Urgency = PushMessageUrgency.High,
            TimeToLive = _options.CurrentValue.WebPushTtlSeconds,
        };
        // One PushServiceClient per call: it is cheap, and its settings are not shared state.
        var client = new PushServiceClient(_http) { AutoRetryAfter = false };
        try
        {
            await client.RequestPushMessageDeliveryAsync(subscription, message, vapid, VapidAuthenticationScheme.Vapid, ct);
            return PushResult.Sent;
        }
        catch (PushServiceClientException ex)
        {
            var invalid = ex.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone;
            return new PushResult(invalid ? PushOutcome.InvalidToken : PushOutcome.Failed,
                $"push service answered {(int)ex.StatusCode}: {ex.Body}");
        }
        catch (DaprException ex)
        {
            return new PushResult(PushOutcome.Failed, BindingErrors.Describe(ex));
        }
        catch (ArgumentException ex)
        {
            // A subscription with malformed keys can never be encrypted to: drop it like a 410.
            return new PushResult(PushOutcome.InvalidToken, ex.Message);
        }
    }

    /// <summary>The JSON the service worker receives (decrypted) in its push event.</summary>
    public static string Payload(PushContent content)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["title"] = content.Title,
            ["body"] = content.Body,
            ["badge"] = content.Badge,
            ["tag"] = content.ConversationId,
        };
        foreach (var (key, value) in content.Data())
        {
            data[key] = value;
        }

        return JsonSerializer.Serialize(data);
    }

    private async Task<VapidAuthentication> InitAsync(CancellationToken ct)
    {
        await _init.WaitAsync(ct);
        try
        {
            if (_vapid is null)
            {
                var publicKey = await _secrets.GetAsync(DaprNames.Secrets.VapidPublicKey, ct);
                var privateKey = await _secrets.GetAsync(DaprNames.Secrets.VapidPrivateKey, ct);
                _vapid = new VapidAuthentication(publicKey, privateKey) { Subject = _options.CurrentValue.WebPushSubject };
            }

            return _vapid;
        }
        finally
        {
            _init.Release();
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _vapid?.Dispose();
        _init.Dispose();
    }

    /// <summary>
    /// Sends an HTTP request through a bindings.http output binding: path and headers become
    /// request metadata, and the binding's statusCode and response headers become the response.
    /// </summary>
    internal sealed class BindingHandler(DaprClient dapr, string binding, Func<VapidAuthentication?> vapid) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri ?? throw new InvalidOperationException("no request URI");
            var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
            if (!uri.IsDefaultPort && vapid() is { } auth && request.Headers.Authorization?.Scheme == "vapid")
            {
                // The library signs aud = scheme://host, dropping a non-default port; RFC 8292 wants
                // the endpoint's origin. Real push services listen on 443, a local one may not.
                request.Headers.Authorization = new AuthenticationHeaderValue("vapid", auth.GetVapidSchemeAuthenticationHeaderValueParameter(uri.GetLeftPart(UriPartial.Authority)));
            }

            var call = new BindingRequest(binding, request.Method.Method.ToLowerInvariant()) { Data = body };
            call.Metadata["path"] = uri.PathAndQuery;
            call.Metadata["Push-Endpoint"] = uri.AbsoluteUri;
            call.Metadata["errorIfNot2XX"] = "false";
            var headers = request.Content is null ? request.Headers : request.Headers.Concat(request.Content.Headers);
            foreach (var (name, values) in headers)
            {
                if (!name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    call.Metadata[name] = string.Join(", ", values);
                }
            }

            var result = await dapr.InvokeBindingAsync(call, cancellationToken);
            var status = result.Metadata.TryGetValue("statusCode", out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : 502;
            var response = new HttpResponseMessage((HttpStatusCode)status) { RequestMessage = request, Content = new ByteArrayContent(result.Data.ToArray()) };
            foreach (var (key, value) in result.Metadata)
            {
                if (key is "statusCode" or "status")
                {
                    continue;
                }

                // Content-* headers belong to the content (the response headers throw on them).
                if (!key.StartsWith("Content-", StringComparison.OrdinalIgnoreCase) && key is not ("Expires" or "Last-Modified" or "Allow"))
                {
                    response.Headers.TryAddWithoutValidation(key, value);
                }
            }

            return response;
        }
    }
}
