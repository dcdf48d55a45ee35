using System.Net;
using System.Net.Http.Headers;
using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.ClientApi;
using Chat.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using static Chat.Integration.Tests.ClientApi.ClientApiSystem;

namespace Chat.Integration.Tests.Lifecycle;

/// <summary>Issue 17: attachments uploaded to the blob store (bindings.localstorage here) with signed, expiring URLs.</summary>
[Trait("Area", "Lifecycle")]
public sealed class MediaTests(ClientApiSystem fx) : IClassFixture<ClientApiSystem>
{
    private static ByteArrayContent Body(byte[] bytes, string type) => new(bytes) { Headers = { ContentType = new MediaTypeHeaderValue(type) } };

    [Fact]
    public async Task An_image_goes_to_the_blob_store_and_only_members_get_a_working_download_url()
    {
        var alice = await fx.UserAsync();
        var bob = await fx.UserAsync();
        var outsider = await fx.UserAsync();
        var image = new byte[3000];
        Random.Shared.NextBytes(image);
        using var http = new HttpClient { BaseAddress = new Uri(fx.System.GatewayUrl) };

        var upload = await alice.Connection.InvokeAsync<UploadDto>("CreateUpload", new CreateUploadArgs("image/png", (ulong)image.Length, "cat.png"));
        Assert.True(upload.ExpiresAt > DateTimeOffset.UtcNow);
        // Not with another type, a different size, or another media id's token.
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await http.PutAsync(upload.UploadUrl, Body(image, "text/html"))).StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await http.PutAsync(upload.UploadUrl, Body(new byte[image.Length + 1], "image/png"))).StatusCode);
        var other = await alice.Connection.InvokeAsync<UploadDto>("CreateUpload", new CreateUploadArgs("image/png", 10));
        Assert.Equal(HttpStatusCode.Forbidden, (await http.PutAsync(other.UploadUrl.Replace(other.MediaId, upload.MediaId, StringComparison.Ordinal), Body(new byte[10], "image/png"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.PutAsync($"/media/{upload.MediaId}", Body(image, "image/png"))).StatusCode);

        Assert.Equal(HttpStatusCode.Created, (await http.PutAsync(upload.UploadUrl, Body(image, "image/png"))).StatusCode);
        // In the blob store (the binding's rootPath), not in any message.
        Assert.Equal(image, await File.ReadAllBytesAsync(Path.Combine(fx.System.DataPath, "media", upload.MediaId)));

        var sent = await alice.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage",
            new SendMessageArgs(null, bob.User.UserId, Guid.NewGuid().ToString("N"), "", new AttachmentDto(null!, null, 0, null, upload.MediaId)));
        var attachment = sent.Message.Attachment!;
        Assert.Equal((upload.MediaId, "image/png", (ulong)image.Length, "cat.png"), (attachment.MediaId, attachment.ContentType, attachment.SizeBytes, attachment.FileName));
        var live = await bob.WaitForAsync<MessageDto>(m => m.MsgId == sent.Message.MsgId);
        Assert.Equal(upload.MediaId, live.Attachment!.MediaId);

        // Bob reads the message and opens the image with the URL he was given.
        var history = await bob.Connection.InvokeAsync<HistoryDto>("GetHistory", new GetHistoryArgs(sent.Message.ConversationId, Limit: 1));
        var url = Assert.Single(history.Messages).Attachment!.Uri;
        var got = await http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        Assert.Equal("image/png", got.Content.Headers.ContentType!.MediaType);
        Assert.Equal(image, await got.Content.ReadAsByteArrayAsync());

        // A non-member gets no URL, and no made-up or borrowed token opens the blob.
        await Refused(ErrorCodes.NotMember, () => outsider.Connection.InvokeAsync<HistoryDto>("GetHistory", new GetHistoryArgs(sent.Message.ConversationId)));
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync($"/media/{upload.MediaId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(upload.UploadUrl)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(url + "x")).StatusCode);
        // Nor can anyone else attach alice's upload.
        await Refused(ErrorCodes.InvalidMedia, () => outsider.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage",
            new SendMessageArgs(null, alice.User.UserId, Guid.NewGuid().ToString("N"), "", new AttachmentDto(null!, null, 0, null, upload.MediaId))));
    }

    [Fact]
    public async Task CreateUpload_refuses_bad_types_names_and_sizes_over_the_limits()
    {
        var user = await fx.UserAsync();
        await Refused(ErrorCodes.MediaTooLarge, () => user.Connection.InvokeAsync<UploadDto>("CreateUpload", new CreateUploadArgs("image/jpeg", 16 * 1024 * 1024 + 1)));
        await Refused(ErrorCodes.MediaTooLarge, () => user.Connection.InvokeAsync<UploadDto>("CreateUpload", new CreateUploadArgs("application/pdf", 100 * 1024 * 1024 + 1)));
        await Refused(ErrorCodes.MediaTooLarge, () => user.Connection.InvokeAsync<UploadDto>("CreateUpload", new CreateUploadArgs("image/jpeg", 0)));
        await Refused(ErrorCodes.InvalidMediaType, () => user.Connection.InvokeAsync<UploadDto>("CreateUpload", new CreateUploadArgs("not a type", 10)));
        await Refused(ErrorCodes.InvalidArgument, () => user.Connection.InvokeAsync<UploadDto>("CreateUpload", new CreateUploadArgs("text/plain", 10, "../etc/passwd")));
        // A 20 MB file is fine when it is not an image.
        Assert.NotEmpty((await user.Connection.InvokeAsync<UploadDto>("CreateUpload", new CreateUploadArgs("application/pdf", 20 * 1024 * 1024, "big.pdf"))).MediaId);
    }
}
