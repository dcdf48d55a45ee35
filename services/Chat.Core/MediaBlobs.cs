using System.Text;
using Chat.Domain;
using Dapr.Client;

namespace Chat.Core;

/// <summary>
/// Attachment blobs through the <c>media-store</c> output binding, as the gateway's /media endpoint
/// and delivery's thumbnails use it. Both key names are set: <c>fileName</c> for bindings.localstorage,
/// <c>key</c> for object stores; data goes as base64 text, which localstorage decodes and object
/// stores decode with <c>decodeBase64</c>.
/// </summary>
public static class MediaBlobs
{
    public static Task CreateAsync(DaprClient dapr, string key, ReadOnlySpan<byte> bytes, string contentType, CancellationToken ct) =>
        dapr.InvokeBindingAsync(new BindingRequest(DaprNames.Bindings.Media, "create")
        {
            Data = Encoding.ASCII.GetBytes(Convert.ToBase64String(bytes)),
            Metadata = { ["fileName"] = key, ["key"] = key, ["decodeBase64"] = "true", ["contentType"] = contentType },
        }, ct);

    /// <summary>The blob's bytes; a <see cref="Dapr.DaprException"/> when there is none.</summary>
    public static async Task<ReadOnlyMemory<byte>> GetAsync(DaprClient dapr, string key, CancellationToken ct) =>
        (await dapr.InvokeBindingAsync(new BindingRequest(DaprNames.Bindings.Media, "get")
        {
            Metadata = { ["fileName"] = key, ["key"] = key },
        }, ct)).Data;
}
