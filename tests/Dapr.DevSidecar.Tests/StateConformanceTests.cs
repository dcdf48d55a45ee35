using Dapr.Client;

namespace Dapr.DevSidecar.Tests;

/// <summary>State API conformance through the official Dapr.Client, per store type.</summary>
[Trait("Area", "DevSidecar")]
public sealed class StateConformanceTests
{
    public sealed record Doc(string Name, int Count);

    // Save/ETag/TTL/bulk/transactions per store type: StateStoreConformanceTests.cs.
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
