using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.PubSub;

public sealed partial class PubSubSubscriber
{
    /// <summary>The delivery path's log messages, generated so that a disabled level costs nothing.</summary>
    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: a message is not a CloudEvent (published with rawPayload?); not delivered")]
        public static partial void NotACloudEvent(ILogger logger, Subscription subscription);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: dropping expired event {Id}")]
        public static partial void Expired(ILogger logger, Subscription subscription, JsonNode? id);

        [LoggerMessage(Level = LogLevel.Debug, Message = "{Subscription}: no route matches event {Id}; dropped")]
        public static partial void NoRoute(ILogger logger, Subscription subscription, JsonNode? id);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: event {Id} still failing after {Retries} retries")]
        public static partial void RetriesExhausted(ILogger logger, Subscription subscription, JsonNode? id, int retries);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: delivering event {Id} to {Path} failed: {Error}; will retry")]
        public static partial void DeliveryFailed(ILogger logger, Subscription subscription, JsonNode? id, string path, string error);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: DROP status returned from app while processing event {Id}")]
        public static partial void AppDropped(ILogger logger, Subscription subscription, JsonNode? id);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: unknown status '{Status}' returned from app for event {Id}; will retry")]
        public static partial void UnknownStatus(ILogger logger, Subscription subscription, string? status, JsonNode? id);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: app answered 404 for event {Id} at {Path}; dropped")]
        public static partial void AppNotFound(ILogger logger, Subscription subscription, JsonNode? id, string path);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: app answered {Status} for event {Id}: {Body}; will retry")]
        public static partial void AppFailed(ILogger logger, Subscription subscription, int status, JsonNode? id, string body);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: sending a message to dead-letter topic {Topic} failed: {Error}")]
        public static partial void DeadLetterFailed(ILogger logger, Subscription subscription, string topic, string error);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: {Count} bulk entries still failing after {Retries} retries")]
        public static partial void BulkRetriesExhausted(ILogger logger, Subscription subscription, int count, int retries);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: delivering {Count} bulk entries to {Path} failed: {Error}; will retry")]
        public static partial void BulkDeliveryFailed(ILogger logger, Subscription subscription, int count, string path, string error);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: the app's answer to a bulk delivery is not {{\"statuses\":[...]}}; retrying its {Count} entries")]
        public static partial void BulkUnreadableAnswer(ILogger logger, Subscription subscription, int count);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: app answered 404 to a bulk delivery of {Count} entries at {Path}; dropped")]
        public static partial void BulkNotFound(ILogger logger, Subscription subscription, int count, string path);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: app answered {Status} to a bulk delivery of {Count} entries: {Body}; will retry")]
        public static partial void BulkAppFailed(ILogger logger, Subscription subscription, int status, int count, string body);

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Subscription}: the app answered a status for unknown bulk entry id {EntryId}; ignored")]
        public static partial void BulkUnknownEntry(ILogger logger, Subscription subscription, string? entryId);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Subscription}: a bulk delivery failed: {Error}")]
        public static partial void BulkFailed(ILogger logger, Subscription subscription, string error);
    }
}
