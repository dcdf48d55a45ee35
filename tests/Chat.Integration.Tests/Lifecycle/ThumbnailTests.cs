using System.Net;
using System.Net.Http.Headers;
using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.ClientApi;
using Chat.Integration.Tests.Infrastructure;
using Chat.Integration.Tests.Push;
using Microsoft.AspNetCore.SignalR.Client;
using SkiaSharp;

namespace Chat.Integration.Tests.Lifecycle;

/// <summary>
/// Issue 17: thumbnails of uploaded images, made by delivery from the gateway's media-uploaded
/// event, stored through the media-store binding and signed for members in history and sync.
/// </summary>
[Trait("Area", "Lifecycle")]
public sealed class ThumbnailTests(ClientApiSystem fx) : IClassFixture<ClientApiSystem>
{
    /// <summary>An image, left half red and right half blue, encoded by Skia.</summary>
    public static byte[] TwoColourImage(int width, int height, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        {
            using var red = new SKPaint { Color = SKColors.Red };
            using var blue = new SKPaint { Color = SKColors.Blue };
            canvas.DrawRect(0, 0, width / 2f, height, red);
            canvas.DrawRect(width / 2f, 0, width - (width / 2f), height, blue);
        }

        using var data = bitmap.Encode(format, 90);
        return data.ToArray();
    }

    private async Task<(MessageDto Sent, string MediaId)> SendFileAsync(HubClient from, HubClient to, byte[] bytes, string type, string name)
    {
        using var http = new HttpClient { BaseAddress = new Uri(fx.System.GatewayUrl) };
        var upload = await from.Connection.InvokeAsync<UploadDto>("CreateUpload", new CreateUploadArgs(type, (ulong)bytes.Length, name));
        var put = await http.PutAsync(upload.UploadUrl, new ByteArrayContent(bytes) { Headers = { ContentType = new MediaTypeHeaderValue(type) } });
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var sent = await from.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage",
            new SendMessageArgs(null, to.User.UserId, Guid.NewGuid().ToString("N"), "", new AttachmentDto(null!, null, 0, null, upload.MediaId)));
        return (sent.Message, upload.MediaId);
    }

    private static async Task<AttachmentDto> AttachmentAsync(HubClient viewer, MessageDto message)
    {
        var page = await viewer.Connection.InvokeAsync<HistoryDto>("GetHistory", new GetHistoryArgs(message.ConversationId, BeforeSeq: message.Seq + 1, Limit: 1));
        return Assert.Single(page.Messages).Attachment!;
    }

    // The outcome delivery recorded for an upload (a row in the run's messages store), if any yet.
    private bool ThumbnailDecided(string mediaId) => StoredRows.Count(fx.System, "key", "%media:" + mediaId + ":thumb") > 0;

    [Theory]
    [InlineData(SKEncodedImageFormat.Png, "image/png", 1200, 600, 320, 160)]
    [InlineData(SKEncodedImageFormat.Jpeg, "image/jpeg", 500, 1000, 160, 320)]
    [InlineData(SKEncodedImageFormat.Png, "image/png", 90, 60, 90, 60)]
    public async Task An_uploaded_image_gets_a_thumbnail_within_bounds_that_members_can_open(
        SKEncodedImageFormat format, string type, int width, int height, int thumbWidth, int thumbHeight)
    {
        var alice = await fx.UserAsync();
        var bob = await fx.UserAsync();
        var (sent, mediaId) = await SendFileAsync(alice, bob, TwoColourImage(width, height, format), type, "picture");

        AttachmentDto? attachment = null;
        await Wait.UntilAsync(async () => (attachment = await AttachmentAsync(bob, sent)).Thumbnail is not null, "the thumbnail in bob's history");
        var thumb = attachment!.Thumbnail!;
        Assert.Equal(("image/jpeg", (uint)thumbWidth, (uint)thumbHeight), (thumb.ContentType, thumb.Width, thumb.Height));

        using var http = new HttpClient { BaseAddress = new Uri(fx.System.GatewayUrl) };
        var got = await http.GetAsync(thumb.Uri);
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        Assert.Equal("image/jpeg", got.Content.Headers.ContentType!.MediaType);
        using var decoded = SKBitmap.Decode(await got.Content.ReadAsByteArrayAsync());
        Assert.Equal((thumbWidth, thumbHeight), (decoded.Width, decoded.Height));
        // The picture itself, scaled: red on the left, blue on the right.
        var left = decoded.GetPixel(2, thumbHeight / 2);
        var right = decoded.GetPixel(thumbWidth - 3, thumbHeight / 2);
        Assert.True(left.Red > 200 && left.Blue < 60, $"left pixel {left}");
        Assert.True(right.Blue > 200 && right.Red < 60, $"right pixel {right}");
        // Stored in the blob store beside the image, and in sync as in history.
        Assert.True(File.Exists(Path.Combine(fx.System.DataPath, "media", mediaId + "-thumb")));
        var sync = await bob.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([]));
        var synced = sync.Deltas.Single(d => d.ConversationId == sent.ConversationId).Messages.Single(m => m.Seq == sent.Seq);
        Assert.Equal((thumb.Width, thumb.Height), (synced.Attachment!.Thumbnail!.Width, synced.Attachment.Thumbnail.Height));

        // Nobody opens it without a token for it: no token, the full image's token, a tampered one.
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync($"/media/{mediaId}-thumb")).StatusCode);
        var fullToken = attachment.Uri[(attachment.Uri.IndexOf("?token=", StringComparison.Ordinal) + 7)..];
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync($"/media/{mediaId}-thumb?token={fullToken}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(thumb.Uri + "x")).StatusCode);
    }

    [Fact]
    public async Task A_non_member_gets_no_thumbnail_url()
    {
        var alice = await fx.UserAsync();
        var bob = await fx.UserAsync();
        var outsider = await fx.UserAsync();
        var (sent, _) = await SendFileAsync(alice, bob, TwoColourImage(400, 400, SKEncodedImageFormat.Png), "image/png", "p.png");
        await Wait.UntilAsync(async () => (await AttachmentAsync(alice, sent)).Thumbnail is not null, "the thumbnail in alice's history");

        await ClientApiSystem.Refused(ErrorCodes.NotMember, () => outsider.Connection.InvokeAsync<HistoryDto>("GetHistory", new GetHistoryArgs(sent.ConversationId)));
        var sync = await outsider.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([]));
        Assert.DoesNotContain(sync.Deltas, d => d.ConversationId == sent.ConversationId);
    }

    [Fact]
    public async Task Files_that_are_not_decodable_images_get_no_thumbnail()
    {
        var alice = await fx.UserAsync();
        var bob = await fx.UserAsync();
        var noise = new byte[2000];
        Random.Shared.NextBytes(noise);
        var (text, textId) = await SendFileAsync(alice, bob, "just words"u8.ToArray(), "text/plain", "notes.txt");
        var (fake, fakeId) = await SendFileAsync(alice, bob, noise, "image/png", "fake.png");

        // Delivery has decided about both (its record is written last), and made nothing.
        await Wait.UntilAsync(() => ThumbnailDecided(textId) && ThumbnailDecided(fakeId), "delivery's outcome for both uploads");
        Assert.Null((await AttachmentAsync(bob, text)).Thumbnail);
        Assert.Null((await AttachmentAsync(bob, fake)).Thumbnail);
        Assert.False(File.Exists(Path.Combine(fx.System.DataPath, "media", textId + "-thumb")));
        Assert.False(File.Exists(Path.Combine(fx.System.DataPath, "media", fakeId + "-thumb")));
    }
}
