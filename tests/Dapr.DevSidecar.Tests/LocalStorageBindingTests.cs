using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapr.Client;

namespace Dapr.DevSidecar.Tests;

/// <summary>bindings.localstorage (issue 17's dev blob store) through the official SDK and the HTTP API, as daprd documents it.</summary>
[Trait("Area", "DevSidecar")]
public sealed class LocalStorageBindingTests
{
    [Fact]
    public async Task Create_get_list_and_delete_files_under_rootPath_and_never_outside_it()
    {
        await using var host = new SidecarTestHost();
        var root = Path.Combine(host.ResourcesPath, "blobs");
        host.WithComponent("files.yaml", SidecarTestHost.Component("files", "bindings.localstorage", ("rootPath", root)));
        var sidecar = await host.StartSidecarAsync("storer");
        var dapr = host.ClientFor(sidecar);
        Assert.True(Directory.Exists(root));

        // Binary data travels base64-encoded and is stored decoded; the answer names the file relative to rootPath.
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0, 1, 2, 255];
        var created = await dapr.InvokeBindingAsync(new BindingRequest("files", "create")
        {
            Data = JsonSerializer.SerializeToUtf8Bytes(Convert.ToBase64String(png)),
            Metadata = { ["fileName"] = "media/a.png" },
        });
        Assert.Equal("media/a.png", JsonDocument.Parse(created.Data).RootElement.GetProperty("fileName").GetString());
        Assert.Equal(png, await File.ReadAllBytesAsync(Path.Combine(root, "media", "a.png")));
        var got = await dapr.InvokeBindingAsync(new BindingRequest("files", "get") { Metadata = { ["fileName"] = "media/a.png" } });
        Assert.Equal(png, got.Data.ToArray());

        // Text through the HTTP API (a JSON string, stored unquoted); no fileName: a random UUID.
        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };
        var text = await http.PostAsJsonAsync("/v1.0/bindings/files", new { operation = "create", data = "Hello World" });
        text.EnsureSuccessStatusCode();
        var uuidName = (await text.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("fileName").GetString()!;
        Assert.True(Guid.TryParse(uuidName, out _), uuidName);
        Assert.Equal("Hello World", await File.ReadAllTextAsync(Path.Combine(root, uuidName)));

        // ".." stops at rootPath: nothing is written outside it.
        var escaped = await dapr.InvokeBindingAsync(new BindingRequest("files", "create")
        {
            Data = JsonSerializer.SerializeToUtf8Bytes("contained"),
            Metadata = { ["fileName"] = "../../outside.txt" },
        });
        Assert.Equal("outside.txt", JsonDocument.Parse(escaped.Data).RootElement.GetProperty("fileName").GetString());
        Assert.False(File.Exists(Path.Combine(host.ResourcesPath, "outside.txt")));

        var list = await dapr.InvokeBindingAsync(new BindingRequest("files", "list"));
        Assert.Equal(
            new[] { Path.Combine(root, uuidName), Path.Combine(root, "media", "a.png"), Path.Combine(root, "outside.txt") }.Order(StringComparer.Ordinal),
            JsonSerializer.Deserialize<string[]>(list.Data.Span)!.Order(StringComparer.Ordinal));

        await dapr.InvokeBindingAsync(new BindingRequest("files", "delete") { Metadata = { ["fileName"] = "media/a.png" } });
        Assert.False(File.Exists(Path.Combine(root, "media", "a.png")));
        var missing = await Assert.ThrowsAsync<DaprException>(() => dapr.InvokeBindingAsync(new BindingRequest("files", "get") { Metadata = { ["fileName"] = "media/a.png" } }));
        var rpc = Assert.IsType<Grpc.Core.RpcException>(missing.InnerException);
        Assert.Equal(Grpc.Core.StatusCode.Internal, rpc.StatusCode);
        Assert.StartsWith("error invoking output binding files: file not found: ", rpc.Status.Detail, StringComparison.Ordinal);

        var unsupported = await http.PostAsJsonAsync("/v1.0/bindings/files", new { operation = "presign", metadata = new { fileName = "x" } });
        Assert.Equal(System.Net.HttpStatusCode.InternalServerError, unsupported.StatusCode);
        Assert.Contains("does not support operation presign", await unsupported.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rootPath_in_a_disallowed_location_is_refused_at_load()
    {
        await using var host = new SidecarTestHost();
        host.WithComponent("files.yaml", SidecarTestHost.Component("files", "bindings.localstorage", ("rootPath", "/proc/blobs")));
        var ex = await Assert.ThrowsAsync<Dapr.DevSidecar.Components.ComponentLoadException>(() => host.StartSidecarAsync("storer"));
        Assert.Equal(("spec.metadata[rootPath]", "property rootPath points to a disallowed location"), (ex.Field, ex.Reason));
    }
}
