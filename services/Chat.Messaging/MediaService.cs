using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Dapr.Client;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Chat.Messaging;

/// <summary>Attachment limits and URL lifetimes (section <c>Messaging:Media</c>).</summary>
public sealed class MediaOptions
{
    public const string SectionName = "Messaging:Media";

    /// <summary>Content types counted as images (and limited by <see cref="MaxImageBytes"/>).</summary>
    public string[] ImageTypes { get; set; } = ["image/jpeg", "image/png", "image/gif", "image/webp"];

    public ulong MaxImageBytes { get; set; } = 16 * 1024 * 1024;

    public ulong MaxFileBytes { get; set; } = 100 * 1024 * 1024;

    /// <summary>How long an upload URL works.</summary>
    public TimeSpan UploadUrlLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a download URL (in history, sync and acks) works.</summary>
    public TimeSpan DownloadUrlLifetime { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>An upload reserved by CreateUpload, under <c>media:{id}</c> in the messages store.</summary>
public sealed record MediaRecord(string MediaId, string OwnerId, string ContentType, ulong SizeBytes, string FileName, DateTimeOffset CreatedAt);

/// <summary>
/// Attachments stored as blobs: CreateUpload reserves a media id and signs an upload URL for the
/// gateway's blob endpoint (which writes through the <c>media-store</c> binding); messages keep
/// only <c>media:{id}</c>, and every reader gets a freshly signed, expiring download URL.
/// Readers are members by construction: history, sync and acks are served to members only.
/// </summary>
public sealed partial class MediaService(DaprClient dapr, ChatTokenService tokens, IOptionsMonitor<MediaOptions> options, TimeProvider time)
{
    /// <summary>How a stored attachment names an uploaded blob.</summary>
    public const string UriPrefix = "media:";

    /// <summary>The gateway's blob endpoint, relative to the gateway's origin.</summary>
    public const string EndpointPath = "/media/";

    [GeneratedRegex("^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")]
    private static partial Regex ContentTypePattern();

    public async Task<CreateUploadResponse> CreateUploadAsync(ChatUser user, CreateUploadRequest request, CancellationToken ct)
    {
        var o = options.CurrentValue;
        var type = request.ContentType ?? "";
        if (!ContentTypePattern().IsMatch(type))
        {
            throw ChatStatus.Create(StatusCode.InvalidArgument, ErrorCodes.InvalidMediaType, "content_type must be a lowercase MIME type such as image/jpeg.");
        }

        var limit = o.ImageTypes.Contains(type, StringComparer.Ordinal) ? o.MaxImageBytes : o.MaxFileBytes;
        if (request.SizeBytes == 0 || request.SizeBytes > limit)
        {
            throw ChatStatus.Create(StatusCode.InvalidArgument, ErrorCodes.MediaTooLarge, $"size_bytes must be between 1 and {limit} for {type}; got {request.SizeBytes}.");
        }

        var name = request.FileName ?? "";
        if (name.Length > 255 || name.Any(c => c is '/' or '\\' || char.IsControl(c)))
        {
            throw ChatStatus.Create(StatusCode.InvalidArgument, ErrorCodes.InvalidArgument, "file_name must be at most 255 characters, without path separators or control characters.");
        }

        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var now = time.GetUtcNow();
        await dapr.SaveStateAsync(DaprNames.StateStores.Messages, Key(id), new MediaRecord(id, user.UserId, type, request.SizeBytes, name, now), cancellationToken: ct);
        var expires = now + o.UploadUrlLifetime;
        var token = tokens.IssueMediaToken(new MediaGrant(id, MediaGrant.Put, type, request.SizeBytes, expires));
        return new CreateUploadResponse { MediaId = id, UploadUrl = Url(id, token), ExpiresAt = Timestamp.FromDateTimeOffset(expires) };
    }

    /// <summary>The stored form of an attachment naming a media id: it must be an upload of the sender's.</summary>
    public async Task<StoredAttachment> ResolveAsync(string senderId, string mediaId, CancellationToken ct)
    {
        var record = mediaId.Length is > 0 and <= 64 && mediaId.All(char.IsAsciiHexDigitLower)
            ? await dapr.GetStateAsync<MediaRecord?>(DaprNames.StateStores.Messages, Key(mediaId), cancellationToken: ct)
            : null;
        if (record is null || record.OwnerId != senderId)
        {
            throw ChatStatus.Create(StatusCode.InvalidArgument, ErrorCodes.InvalidMedia, $"media_id '{(mediaId.Length > 64 ? mediaId[..64] : mediaId)}' is not an upload of yours (CreateUpload first).");
        }

        return new StoredAttachment(UriPrefix + record.MediaId, record.ContentType, record.SizeBytes, record.FileName);
    }

    /// <summary>The message with a signed, expiring download URL in place of <c>media:{id}</c>.</summary>
    public ChatMessage Sign(ChatMessage message)
    {
        if (message.Content?.Attachment is { } a && a.Uri.StartsWith(UriPrefix, StringComparison.Ordinal))
        {
            var id = a.Uri[UriPrefix.Length..];
            var grant = new MediaGrant(id, MediaGrant.Get, a.ContentType, a.SizeBytes, time.GetUtcNow() + options.CurrentValue.DownloadUrlLifetime);
            a.MediaId = id;
            a.Uri = Url(id, tokens.IssueMediaToken(grant));
        }

        return message;
    }

    /// <summary>
    /// The messages signed (<see cref="Sign"/>), and images given their thumbnail where delivery has
    /// made one: one bulk read of the thumbnail records for the whole page.
    /// </summary>
    public async Task<IEnumerable<ChatMessage>> SignAllAsync(IEnumerable<ChatMessage> messages, CancellationToken ct)
    {
        var signed = messages.Select(Sign).ToList();
        var images = signed
            .Where(m => m.Content?.Attachment is { MediaId.Length: > 0 } a && a.ContentType.StartsWith("image/", StringComparison.Ordinal))
            .Select(m => m.Content.Attachment)
            .ToList();
        if (images.Count == 0)
        {
            return signed;
        }

        var keys = images.Select(a => MessageKeys.Thumbnail(a.MediaId)).Distinct(StringComparer.Ordinal).ToList();
        var items = await dapr.GetBulkStateAsync<ThumbnailRecord?>(DaprNames.StateStores.Messages, keys, parallelism: null, cancellationToken: ct);
        var made = items.Where(i => i.Value is { Made: true }).ToDictionary(i => i.Key, i => i.Value!, StringComparer.Ordinal);
        var expires = time.GetUtcNow() + options.CurrentValue.DownloadUrlLifetime;
        foreach (var a in images)
        {
            if (made.TryGetValue(MessageKeys.Thumbnail(a.MediaId), out var thumb))
            {
                var key = MessageKeys.ThumbnailBlob(a.MediaId);
                a.Thumbnail = new Thumbnail
                {
                    Uri = Url(key, tokens.IssueMediaToken(new MediaGrant(key, MediaGrant.Get, thumb.ContentType, 0, expires))),
                    ContentType = thumb.ContentType,
                    Width = thumb.Width,
                    Height = thumb.Height,
                };
            }
        }

        return signed;
    }

    private static string Key(string mediaId) => MessageKeys.Media(mediaId);

    private static string Url(string id, string token) => $"{EndpointPath}{id}?token={Uri.EscapeDataString(token)}";
}
