using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Dapr.Client;
using Microsoft.Extensions.Options;

namespace Chat.Delivery.Media;

/// <summary>Thumbnail size and the limits on what is decoded (section <c>Delivery:Thumbnails</c>).</summary>
public sealed class ThumbnailOptions
{
    public const string SectionName = "Delivery:Thumbnails";

    /// <summary>The thumbnail's longer side at most, in pixels (smaller images keep their size).</summary>
    public int MaxSide { get; set; } = 320;

    /// <summary>JPEG quality of thumbnails, 1–100.</summary>
    public int Quality { get; set; } = 80;

    /// <summary>Images with more pixels than this are not decoded (a small file can claim a huge canvas).</summary>
    public long MaxSourcePixels { get; set; } = 40_000_000;
}

/// <summary>
/// Makes thumbnails of uploaded images when the gateway reports an upload: reads the blob
/// through <c>media-store</c>, writes the preview beside it and records the outcome under
/// <see cref="MessageKeys.Thumbnail"/>, where messaging finds it to sign a URL for members. Done
/// here because delivery is already the pub/sub worker that holds no client connections and scales
/// out as a consumer group; one image at a time, so a burst of uploads cannot starve the fan-out.
/// </summary>
public sealed class Thumbnails(DaprClient dapr, IOptionsMonitor<ThumbnailOptions> options)
{
    private readonly SemaphoreSlim _one = new(1, 1);

    public async Task MakeAsync(MediaUploaded upload, CancellationToken ct)
    {
        // Only ids CreateUpload could have issued name blobs; anything else is not ours to read.
        if (upload.MediaId.Length is 0 or > 64 || !upload.MediaId.All(char.IsAsciiHexDigitLower))
        {
            return;
        }

        ThumbnailRecord record = new(false, "", 0, 0);
        if (upload.ContentType.StartsWith("image/", StringComparison.Ordinal))
        {
            var source = await MediaBlobs.GetAsync(dapr, upload.MediaId, ct);
            await _one.WaitAsync(ct);
            ThumbnailImage.Result? made;
            try
            {
                made = ThumbnailImage.Make(source.Span, options.CurrentValue);
            }
            finally
            {
                _one.Release();
            }

            if (made is { } m)
            {
                await MediaBlobs.CreateAsync(dapr, MessageKeys.ThumbnailBlob(upload.MediaId), m.Jpeg, ThumbnailImage.ContentType, ct);
                record = new ThumbnailRecord(true, ThumbnailImage.ContentType, (uint)m.Width, (uint)m.Height);
            }
        }

        await dapr.SaveStateAsync(DaprNames.StateStores.Messages, MessageKeys.Thumbnail(upload.MediaId), record, cancellationToken: ct);
    }
}

/// <summary>Registration and the subscription of thumbnails in the delivery app.</summary>
public static class ThumbnailServices
{
    public static IServiceCollection AddThumbnails(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<ThumbnailOptions>(config.GetSection(ThumbnailOptions.SectionName));
        services.AddSingleton<Thumbnails>();
        return services;
    }
}
