using Dapr;
using Dapr.Client;
using Grpc.Core;

namespace Chat.Unit.Tests.Fakes;

/// <summary>The fake sidecar keeps the state rules the services rely on, so a test passing on it means something.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class FakeDaprClientTests
{
    private const string Store = "s";
    private static readonly StateOptions FirstWrite = new() { Concurrency = ConcurrencyMode.FirstWrite };
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _time = FakeDaprClient.Noon();
    private readonly FakeDaprClient _dapr;

    public FakeDaprClientTests()
    {
        _dapr = new FakeDaprClient(_time).WithStore(Store, FakeDaprClient.FullStore).WithStore("plain", "ETAG");
    }

    [Fact]
    public async Task First_write_fails_as_daprd_does_on_an_existing_key()
    {
        await _dapr.SaveStateAsync(Store, "k", 1, FirstWrite);

        var error = await Assert.ThrowsAsync<DaprException>(() => _dapr.SaveStateAsync(Store, "k", 2, FirstWrite));

        Assert.Equal(StatusCode.Aborted, Assert.IsType<RpcException>(error.InnerException).StatusCode);
        Assert.Equal(1, await _dapr.GetStateAsync<int>(Store, "k"));
    }

    [Fact]
    public async Task A_stale_etag_loses_and_the_current_one_wins()
    {
        await _dapr.SaveStateAsync(Store, "k", 1);
        var (_, stale) = await _dapr.GetStateAndETagAsync<int>(Store, "k");
        await _dapr.SaveStateAsync(Store, "k", 2);
        var (_, current) = await _dapr.GetStateAndETagAsync<int>(Store, "k");

        Assert.False(await _dapr.TrySaveStateAsync(Store, "k", 3, stale));
        Assert.True(await _dapr.TrySaveStateAsync(Store, "k", 4, current));
        Assert.Equal(4, await _dapr.GetStateAsync<int>(Store, "k"));
    }

    [Fact]
    public async Task Keys_saved_with_a_ttl_expire_on_the_test_clock()
    {
        await _dapr.SaveStateAsync(Store, "k", 1, metadata: new Dictionary<string, string> { ["ttlInSeconds"] = "5" });

        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(1, await _dapr.GetStateAsync<int?>(Store, "k"));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await _dapr.GetStateAsync<int?>(Store, "k"));
    }

    [Fact]
    public async Task A_transaction_with_one_failing_operation_applies_none()
    {
        await _dapr.SaveStateAsync(Store, "taken", 1);

        await Assert.ThrowsAsync<DaprException>(() => _dapr.ExecuteStateTransactionAsync(Store,
        [
            new StateTransactionRequest("new", [(byte)'7'], StateOperationType.Upsert),
            new StateTransactionRequest("taken", [(byte)'8'], StateOperationType.Upsert, options: FirstWrite),
        ]));

        Assert.Equal(["taken"], _dapr.Keys(Store));
    }

    [Fact]
    public async Task A_store_that_is_not_transactional_refuses_transactions()
    {
        await Assert.ThrowsAsync<DaprException>(() => _dapr.ExecuteStateTransactionAsync("plain",
            [new StateTransactionRequest("k", [(byte)'1'], StateOperationType.Upsert)]));

        Assert.Empty(_dapr.Keys("plain"));
    }
}
