using SkiaSharp;

namespace Chat.Delivery.Media;

/// <summary>
/// Image work with SkiaSharp (Skia, fuzzed continuously upstream): decode within limits, scale to
/// fit, turn upright as the EXIF orientation says, flatten onto white and encode as JPEG.
/// </summary>
public static class ThumbnailImage
{
    public const string ContentType = "image/jpeg";

    public readonly record struct Result(byte[] Jpeg, int Width, int Height);

    /// <summary>The thumbnail, or null when the bytes are not an image Skia decodes within the limits.</summary>
    public static Result? Make(ReadOnlySpan<byte> bytes, ThumbnailOptions options)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data);
        if (codec is null || codec.Info.Width <= 0 || codec.Info.Height <= 0 || (long)codec.Info.Width * codec.Info.Height > options.MaxSourcePixels)
        {
            return null;
        }

        var origin = codec.EncodedOrigin;
        var turned = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        var (uprightW, uprightH) = turned ? (codec.Info.Height, codec.Info.Width) : (codec.Info.Width, codec.Info.Height);
        var scale = Math.Min(1.0, Math.Min((double)options.MaxSide / uprightW, (double)options.MaxSide / uprightH));
        var width = Math.Max(1, (int)Math.Round(uprightW * scale));
        var height = Math.Max(1, (int)Math.Round(uprightH * scale));

        // JPEG decodes straight to a fraction of its size, so a large photo is never held whole.
        var decodeSize = codec.GetScaledDimensions((float)Math.Max(scale, 0.125));
        using var decoded = SKBitmap.Decode(codec, new SKImageInfo(decodeSize.Width, decodeSize.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        if (decoded is null)
        {
            return null;
        }

        var (storedW, storedH) = turned ? (height, width) : (width, height);
        using var scaled = decoded.Resize(new SKImageInfo(storedW, storedH, SKColorType.Rgba8888, SKAlphaType.Premul), new SKSamplingOptions(SKCubicResampler.Mitchell));
        if (scaled is null)
        {
            return null;
        }

        using var target = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(target))
        {
            canvas.Clear(SKColors.White);
            canvas.SetMatrix(Upright(origin, width, height));
            canvas.DrawBitmap(scaled, 0, 0);
        }

        using var jpeg = target.Encode(SKEncodedImageFormat.Jpeg, Math.Clamp(options.Quality, 1, 100));
        return jpeg is null ? null : new Result(jpeg.ToArray(), width, height);
    }

    // Maps stored pixels (x, y) to upright ones in a width × height target, per EXIF orientation.
    private static SKMatrix Upright(SKEncodedOrigin origin, int width, int height) => origin switch
    {
        SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, width, 0, 1, 0, 0, 0, 1),
        SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, width, 0, -1, height, 0, 0, 1),
        SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, height, 0, 0, 1),
        SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightTop => new SKMatrix(0, -1, width, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, width, -1, 0, height, 0, 0, 1),
        SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, height, 0, 0, 1),
        _ => SKMatrix.Identity,
    };
}
