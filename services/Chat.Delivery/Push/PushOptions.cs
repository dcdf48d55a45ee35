namespace Chat.Delivery.Push;

/// <summary>Push settings (configuration section <c>Push</c>).</summary>
public sealed class PushOptions
{
    /// <summary>At most one push per conversation and device in this window while the conversation stays unread.</summary>
    public int ThrottleSeconds { get; set; } = 10;

    /// <summary>How much of the text a preview shows (text elements, so emoji are never split).</summary>
    public int PreviewLength { get; set; } = 50;

    /// <summary>
    /// Tries per push step before it counts as failed: looking up the recipients' devices and
    /// cursors, and each send that failed in transport (a definite answer from the push service
    /// is not retried). Waits 100 ms, then twice as long before each further try.
    /// </summary>
    public int Attempts { get; set; } = 3;

    /// <summary>How many devices are pushed to at once for one message.</summary>
    public int MaxParallelSends { get; set; } = 16;

    /// <summary>Used when a device registered no APNs topic (the app's bundle id). Empty: no apns-topic header.</summary>
    public string ApnsTopic { get; set; } = "";

    /// <summary>How long APNs keeps an undelivered notification (apns-expiration).</summary>
    public int ApnsExpirationSeconds { get; set; } = 86400;

    /// <summary>
    /// The FCM HTTP v1 send path appended to the <c>push-fcm</c> binding url; <c>{projectId}</c> is
    /// the service account's project. Empty when the component url already is the full send URL.
    /// </summary>
    public string FcmSendPath { get; set; } = "/v1/projects/{projectId}/messages:send";

    /// <summary>FCM project when the service account secret is a development placeholder.</summary>
    public string FcmProjectId { get; set; } = "dev-project";

    /// <summary>VAPID subject (a mailto: or https: URL the push service can contact).</summary>
    public string WebPushSubject { get; set; } = "mailto:push@chat.invalid";

    /// <summary>Web Push TTL header: how long the push service keeps an undelivered message.</summary>
    public int WebPushTtlSeconds { get; set; } = 86400;
}
