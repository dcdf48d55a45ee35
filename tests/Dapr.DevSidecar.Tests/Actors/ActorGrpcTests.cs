using System.Text;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace Dapr.DevSidecar.Tests.Actors;

/// <summary>The gRPC actor RPCs answer as the HTTP actor API does.</summary>
[Trait("Area", "DevSidecar")]
public sealed class ActorGrpcTests
{
    [Fact]
    public async Task Invoke_state_and_reminders_over_grpc()
    {
        await using var host = ActorInvocationTests.InMemoryHost();
        await using var app = await ActorTestApp.StartAsync(host, appId: "grpc-actors");
        using var channel = GrpcChannel.ForAddress(app.Sidecar.GrpcEndpoint);
        var dapr = new Dapr.Client.Autogen.Grpc.v1.Dapr.DaprClient(channel);

        // Non-remoting JSON call: the body is the method's argument, the answer its result.
        var invoked = await dapr.InvokeActorAsync(new InvokeActorRequest
        {
            ActorType = "CounterActor", ActorId = "g1", Method = "AddAsync", Data = ByteString.CopyFromUtf8("4"),
            Metadata = { ["content-type"] = "application/json" },
        });
        Assert.Equal("4", invoked.Data.ToStringUtf8());

        var state = await dapr.GetActorStateAsync(new GetActorStateRequest { ActorType = "CounterActor", ActorId = "g1", Key = "count" });
        Assert.Equal("4", state.Data.ToStringUtf8());

        await dapr.ExecuteActorStateTransactionAsync(new ExecuteActorStateTransactionRequest
        {
            ActorType = "CounterActor", ActorId = "g1",
            Operations =
            {
                new TransactionalActorStateOperation { OperationType = "upsert", Key = "note", Value = Any.Pack(new StringValue { Value = "x" }), Metadata = { ["ttlInSeconds"] = "30" } },
                new TransactionalActorStateOperation { OperationType = "delete", Key = "count" },
            },
        });
        var note = await dapr.GetActorStateAsync(new GetActorStateRequest { ActorType = "CounterActor", ActorId = "g1", Key = "note" });
        Assert.Equal(new StringValue { Value = "x" }.ToByteString(), note.Data);
        Assert.True(note.Metadata.ContainsKey("ttlExpireTime"));
        Assert.True((await dapr.GetActorStateAsync(new GetActorStateRequest { ActorType = "CounterActor", ActorId = "g1", Key = "count" })).Data.IsEmpty);

        await dapr.RegisterActorReminderAsync(new RegisterActorReminderRequest
        {
            ActorType = "CounterActor", ActorId = "g1", Name = "ping", DueTime = "0h0m0s100ms",
            Data = ByteString.CopyFromUtf8("\"" + Convert.ToBase64String(Encoding.UTF8.GetBytes("from-grpc")) + "\""),
        });
        await Wait.UntilAsync(() => app.Probe.Events.Any(e => e.Kind == "reminder" && e.What.StartsWith("ping|from-grpc|", StringComparison.Ordinal)), "the reminder registered over gRPC", TimeSpan.FromSeconds(8));

        await dapr.RegisterActorReminderAsync(new RegisterActorReminderRequest { ActorType = "CounterActor", ActorId = "g1", Name = "later", DueTime = "1h", Period = "R3/PT1H" });
        var got = await dapr.GetActorReminderAsync(new GetActorReminderRequest { ActorType = "CounterActor", ActorId = "g1", Name = "later" });
        Assert.Equal(("1h", "R3/PT1H"), (got.DueTime, got.Period));
        await dapr.UnregisterActorReminderAsync(new UnregisterActorReminderRequest { ActorType = "CounterActor", ActorId = "g1", Name = "later" });
        var missing = await Assert.ThrowsAsync<RpcException>(() => dapr.GetActorReminderAsync(new GetActorReminderRequest { ActorType = "CounterActor", ActorId = "g1", Name = "later" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);

        var badTimer = await Assert.ThrowsAsync<RpcException>(() => dapr.RegisterActorTimerAsync(new RegisterActorTimerRequest
        {
            ActorType = "CounterActor", ActorId = "g1", Name = "t", Period = "sometimes", Callback = "OnTimerAsync",
        }).ResponseAsync);
        Assert.Equal(StatusCode.Internal, badTimer.StatusCode);
        Assert.Contains("error creating actor timer", badTimer.Status.Detail, StringComparison.Ordinal);
    }
}
