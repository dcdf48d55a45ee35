using Dapr.Client;

namespace Dapr.DevSidecar.Tests;

/// <summary>State API conformance through the official Dapr.Client, per store type.</summary>
[Trait("Area", "DevSidecar")]
public sealed class StateConformanceTests
{
    public sealed record Doc(string Name, int Count);

    [Fact]
    public async Task InMemory_save_get_etag_and_delete()
    {
        await using var host = new SidecarTestHost().WithComponent("state.yaml", SidecarTestHost.Component("store", "state.in-memory"));
        var sidecar = await host.StartSidecarAsync("app1");
        var dapr = host.ClientFor(sidecar);

        await dapr.SaveStateAsync("store", "k1", new Doc("a", 1));
        var (value, etag) = await dapr.GetStateAndETagAsync<Doc>("store", "k1");
        Assert.Equal(new Doc("a", 1), value);
        Assert.False(string.IsNullOrEmpty(etag));

        Assert.True(await dapr.TrySaveStateAsync("store", "k1", new Doc("a", 2), etag));
        Assert.False(await dapr.TrySaveStateAsync("store", "k1", new Doc("a", 3), etag), "stale ETag must be refused");
        Assert.Equal(2, (await dapr.GetStateAsync<Doc>("store", "k1")).Count);

        await dapr.DeleteStateAsync("store", "k1");
        Assert.Null(await dapr.GetStateAsync<Doc>("store", "k1"));
    }

    [Fact]
    public async Task Unknown_store_is_a_clear_error()
    {
        await using var host = new SidecarTestHost().WithComponent("state.yaml", SidecarTestHost.Component("store", "state.in-memory"));
        var sidecar = await host.StartSidecarAsync("app1");
        var dapr = host.ClientFor(sidecar);

        var ex = await Assert.ThrowsAsync<DaprException>(() => dapr.GetStateAsync<Doc>("nope", "k"));
        var rpc = Assert.IsType<Grpc.Core.RpcException>(ex.InnerException);
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, rpc.StatusCode);
        Assert.Contains("state store nope is not found", rpc.Status.Detail, StringComparison.Ordinal);
    }
}
