using Chat.Integration.Tests.Infrastructure;

namespace Chat.Integration.Tests.Reliability;

/// <summary>Every app as its own process (one gateway), shared by the tests of a class.</summary>
public sealed class OneGatewaySystem : IAsyncLifetime
{
    public AppProcesses System { get; private set; } = null!;

    public async Task InitializeAsync() => System = await ChatHarness.ProcessesAsync(new() { Components = ComponentSet.Redis });

    public async Task DisposeAsync() => await System.DisposeAsync();
}
