using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Chat.Contracts.V1;
using Chat.Domain;
using Dapr;
using Dapr.Client;
using Microsoft.Extensions.Options;

namespace Chat.Delivery.Push;

/// <summary>
/// iOS pushes through <c>push-apns</c>, a <c>bindings.apns</c> component in production: operation
/// <c>create</c>, the device token and <c>apns-*</c> headers as request metadata, the APNs JSON as data.
/// </summary>
/// <remarks>
/// The same call also carries <c>path</c> and capitalised copies of the headers, which
/// <c>bindings.apns</c> ignores; they let the local sets point <c>push-apns</c> at the gateway's push
/// sink with a plain <c>bindings.http</c> (which only turns capitalised keys into headers) and still
/// record a request shaped like the one Apple receives.
/// </remarks>
public sealed class ApnsSender(DaprClient dapr, IOptionsMonitor<PushOptions> options, TimeProvider time) : IPushSender
{
    public PushPlatform Platform => PushPlatform.Apns;

    public async Task<PushResult> SendAsync(Device device, PushContent content, CancellationToken ct)
    {
        var o = options.CurrentValue;
        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["apns-push-type"] = "alert",
            ["apns-priority"] = "10",
            ["apns-collapse-id"] = content.ApnsCollapseId,
            ["apns-expiration"] = (time.GetUtcNow().ToUnixTimeSeconds() + o.ApnsExpirationSeconds).ToString(CultureInfo.InvariantCulture),
        };
        var topic = device.ApnsTopic.Length > 0 ? device.ApnsTopic : o.ApnsTopic;
        if (topic.Length > 0)
        {
            headers["apns-topic"] = topic;
        }

        var request = new BindingRequest(DaprNames.Bindings.Apns, "create") { Data = Payload(content) };
        request.Metadata["device-token"] = device.PushToken;
        request.Metadata["path"] = "/3/device/" + device.PushToken;
        foreach (var (key, value) in headers)
        {
            request.Metadata[key] = value;
            request.Metadata[char.ToUpperInvariant(key[0]) + key[1..]] = value;
        }

        try
        {
            await dapr.InvokeBindingAsync(request, ct);
            return PushResult.Sent;
        }
        catch (DaprException ex)
        {
            // bindings.apns fails with Apple's reason as the error text (daprd: the bare reason).
            var detail = BindingErrors.Describe(ex);
            var invalid = detail.Contains("Unregistered", StringComparison.Ordinal) || detail.Contains("BadDeviceToken", StringComparison.Ordinal);
            return new PushResult(invalid ? PushOutcome.InvalidToken : PushOutcome.Failed, detail);
        }
    }

    /// <summary>The APNs payload: alert, badge (the unread count), thread-id (groups notifications per conversation).</summary>
    public static byte[] Payload(PushContent content)
    {
        var payload = new JsonObject
        {
            ["aps"] = new JsonObject
            {
                ["alert"] = new JsonObject { ["title"] = content.Title, ["body"] = content.Body },
                ["badge"] = content.Badge,
                ["thread-id"] = content.ConversationId,
                ["sound"] = "default",
            },
        };
        foreach (var (key, value) in content.Data())
        {
            payload[key] = value;
        }

        return JsonSerializer.SerializeToUtf8Bytes(payload);
    }
}
