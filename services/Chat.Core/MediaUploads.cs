using Chat.Contracts.V1;
using Chat.ServiceDefaults.Auth;
using Microsoft.Extensions.Options;

namespace Chat.Core;

/// <summary>Attachment limits and URL lifetimes (section <c>Messaging:Media</c>; the gateway reads the download lifetime too).</summary>
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
/// Attachments stored as blobs: messages keep only <c>media:{id}</c>, and every reader gets a
/// freshly signed, expiring download URL (<see cref="MediaSigner"/>).
/// </summary>
public static class MediaUploads
{
    /// <summary>How a stored attachment names an uploaded blob.</summary>
    public const string UriPrefix = "media:";

    /// <summary>The gateway's blob endpoint, relative to the gateway's origin.</summary>
    public const string EndpointPath = "/media/";

    /// <summary>A URL of the blob endpoint carrying <paramref name="token"/>.</summary>
    public static string Url(string id, string token) => $"{EndpointPath}{id}?token={Uri.EscapeDataString(token)}";
}

/// <summary>Puts a signed, expiring download URL in place of <c>media:{id}</c> (messaging's reads and every send ack).</summary>
public sealed class MediaSigner(ChatTokenService tokens, IOptionsMonitor<MediaOptions> options, TimeProvider time)
{
    /// <summary>How long a download URL issued now works.</summary>
    public DateTimeOffset DownloadExpiry => time.GetUtcNow() + options.CurrentValue.DownloadUrlLifetime;

    /// <summary>The message with a signed download URL in place of <c>media:{id}</c>.</summary>
    public ChatMessage Sign(ChatMessage message)
    {
        if (message.Content?.Attachment is { } a && a.Uri.StartsWith(MediaUploads.UriPrefix, StringComparison.Ordinal))
        {
            var id = a.Uri[MediaUploads.UriPrefix.Length..];
            a.MediaId = id;
            a.Uri = MediaUploads.Url(id, tokens.IssueMediaToken(new MediaGrant(id, MediaGrant.Get, a.ContentType, a.SizeBytes, DownloadExpiry)));
        }

        return message;
    }

    /// <summary>A signed download URL of a blob that is not an attachment itself (a thumbnail).</summary>
    public string SignBlob(string key, string contentType) =>
        MediaUploads.Url(key, tokens.IssueMediaToken(new MediaGrant(key, MediaGrant.Get, contentType, 0, DownloadExpiry)));
}
