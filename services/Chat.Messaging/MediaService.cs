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

/// <summary>
/// Attachments stored as blobs: CreateUpload reserves a media id and signs an upload URL for the
/// gateway's blob endpoint (which writes through the <c>media-store</c> binding); messages keep
/// only <c>media:{id}</c>, and every reader gets a freshly signed, expiring download URL.
/// Readers are members by construction: history, sync and acks are served to members only.
/// </summary>
public sealed partial class MediaService(DaprClient dapr, ChatTokenService tokens, IOptionsMonitor<MediaOptions> options, TimeProvider time, MediaSigner signer)
{
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
        return new CreateUploadResponse { MediaId = id, UploadUrl = MediaUploads.Url(id, token), ExpiresAt = Timestamp.FromDateTimeOffset(expires) };
    }

    /// <summary>The message with a signed, expiring download URL in place of <c>media:{id}</c>.</summary>
    public ChatMessage Sign(ChatMessage message) => signer.Sign(message);

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
        foreach (var a in images)
        {
            if (made.TryGetValue(MessageKeys.Thumbnail(a.MediaId), out var thumb))
            {
                var key = MessageKeys.ThumbnailBlob(a.MediaId);
                a.Thumbnail = new Thumbnail
                {
                    Uri = signer.SignBlob(key, thumb.ContentType),
                    ContentType = thumb.ContentType,
                    Width = thumb.Width,
                    Height = thumb.Height,
                };
            }
        }

        return signed;
    }

    private static string Key(string mediaId) => MessageKeys.Media(mediaId);
}
