using Chat.Contracts.V1;
using Chat.Domain;

namespace Chat.Gateway.Hubs;

/// <summary>Arguments of CreateUpload: the file's lowercase MIME type, exact size and an optional display name.</summary>
public sealed record CreateUploadArgs(string? ContentType, ulong SizeBytes, string? FileName = null);

/// <summary>Where to PUT the file (relative to the gateway, with the announced Content-Type), until expiresAt; then send a message with attachment {mediaId}.</summary>
public sealed record UploadDto(string MediaId, string UploadUrl, DateTimeOffset ExpiresAt);

/// <summary>Attachments: the hub hands out upload URLs; the bytes go straight to the blob endpoint.</summary>
public sealed partial class ChatHub
{
    /// <summary>Reserves an upload (images up to 16 MB, files up to 100 MB by default) and returns its media id and a short-lived upload URL.</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidMediaType, ErrorCodes.MediaTooLarge)]
    [RateLimit(HubRatePolicies.Send)]
    public async Task<UploadDto> CreateUpload(CreateUploadArgs args)
    {
        if (args is null)
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "CreateUpload needs {contentType, sizeBytes, fileName?}.");
        }

        var response = await Call(() => messaging.CreateUploadAsync(
            new CreateUploadRequest { ContentType = args.ContentType ?? "", SizeBytes = args.SizeBytes, FileName = args.FileName ?? "" }, Headers()).ResponseAsync);
        return new UploadDto(response.MediaId, response.UploadUrl, response.ExpiresAt.ToDateTimeOffset());
    }
}
