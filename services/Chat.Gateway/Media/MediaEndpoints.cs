using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.Gateway.WebClient;
using Chat.ServiceDefaults.Auth;
using Chat.ServiceDefaults.Boundary;
using Dapr;
using Dapr.Client;
using Microsoft.AspNetCore.Http.Features;

namespace Chat.Gateway.Media;

/// <summary>
/// The blob endpoint for clients: <c>PUT /media/{id}?token=…</c> uploads (the URL from
/// CreateUpload) and <c>GET /media/{id}?token=…</c> downloads (URLs in history, sync and acks).
/// The signed, expiring token is the only authority: without a valid one for that id and
/// operation nothing is read or written. Blobs go to the <c>media-store</c> output binding
/// (bindings.localstorage in the dev sets, an object store in production), never through the hub.
/// </summary>
public static partial class MediaEndpoints
{
    public const string Path = "/media";

    public static void MapMediaEndpoints(this IEndpointRouteBuilder app)
    {
        var media = app.MapGroup(Path).ForClients();
        media.MapPut("/{mediaId}", UploadAsync);
        media.MapGet("/{mediaId}", DownloadAsync);
    }

    private static async Task<IResult> UploadAsync(string mediaId, HttpContext http, ChatTokenService tokens, DaprClient dapr, ILoggerFactory logs)
    {
        var grant = tokens.ValidateMediaToken(http.Request.Query["token"], mediaId, MediaGrant.Put);
        if (grant is null)
        {
            return Error(StatusCodes.Status403Forbidden, ErrorCodes.InvalidMediaToken, "The upload URL is invalid or has expired; ask for a new one (CreateUpload).");
        }

        var type = http.Request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (type != grant.ContentType)
        {
            return Error(StatusCodes.Status415UnsupportedMediaType, ErrorCodes.InvalidMediaType, $"Content-Type must be {grant.ContentType}, as announced to CreateUpload.");
        }

        if (http.Request.ContentLength is not { } length || length <= 0 || (ulong)length > grant.MaxBytes)
        {
            return Error(StatusCodes.Status413RequestEntityTooLarge, ErrorCodes.MediaTooLarge, $"Content-Length must be between 1 and {grant.MaxBytes} bytes, as announced to CreateUpload.");
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = length;
        }

        var bytes = new byte[length];
        try
        {
            await http.Request.Body.ReadExactlyAsync(bytes, http.RequestAborted);
        }
        catch (EndOfStreamException)
        {
            return Error(StatusCodes.Status400BadRequest, ErrorCodes.InvalidArgument, "The body is shorter than its Content-Length.");
        }

        await MediaBlobs.CreateAsync(dapr, mediaId, bytes, grant.ContentType, http.RequestAborted);
        // Stored: delivery makes a thumbnail of images. A failed publish costs only the preview, not the upload.
        try
        {
            await dapr.PublishProtoAsync(DaprNames.PubSub, DaprNames.Topics.MediaUploaded,
                new MediaUploaded { MediaId = mediaId, ContentType = grant.ContentType, SizeBytes = (ulong)length }, http.RequestAborted);
        }
        catch (DaprException ex)
        {
            LogPublishFailed(logs.CreateLogger(typeof(MediaEndpoints)), ex, mediaId);
        }

        return Results.Created();
    }

    private static async Task<IResult> DownloadAsync(string mediaId, HttpContext http, ChatTokenService tokens, DaprClient dapr)
    {
        var grant = tokens.ValidateMediaToken(http.Request.Query["token"], mediaId, MediaGrant.Get);
        if (grant is null)
        {
            return Error(StatusCodes.Status403Forbidden, ErrorCodes.InvalidMediaToken, "The download URL is invalid or has expired; read the message again for a new one.");
        }

        ReadOnlyMemory<byte> blob;
        try
        {
            blob = await MediaBlobs.GetAsync(dapr, mediaId, http.RequestAborted);
        }
        catch (DaprException)
        {
            return Error(StatusCodes.Status404NotFound, ErrorCodes.NotFound, "This attachment has not been uploaded (yet).");
        }

        http.Response.Headers.CacheControl = "private, max-age=300";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        if (!grant.ContentType.StartsWith("image/", StringComparison.Ordinal))
        {
            // Anything but an image is saved, never rendered in the gateway's origin.
            http.Response.Headers.ContentDisposition = "attachment";
        }

        return Results.Bytes(blob, grant.ContentType);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upload {MediaId} is stored but media-uploaded was not published: it gets no thumbnail")]
    private static partial void LogPublishFailed(ILogger logger, Exception ex, string mediaId);

    private static IResult Error(int status, string code, string message) => TypedResults.Json(new ApiError(code, message), statusCode: status);
}
