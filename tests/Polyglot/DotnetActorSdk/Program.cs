using System.Collections.Concurrent;
using System.Text.Json;
using Dapr;
using Dapr.Actors;
using Dapr.Actors.Client;
using Dapr.Client;
using DotnetActorSdk;

// Hosting, as the Dapr .NET actor docs show it: no endpoint options, so the SDK takes its
// defaults (http://localhost:{DAPR_HTTP_PORT}/ for actors, which it joins into //v1.0/... paths).
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddActors(options => options.Actors.RegisterActor<SmokeActor>());
builder.Services.AddDaprClient();
var app = builder.Build();
var received = new ConcurrentQueue<SmokeData>();
app.UseCloudEvents();
app.MapSubscribeHandler();
app.MapActorsHandlers();
app.MapPost("/echo", (SmokeData data) => data with { Count = data.Count + 1 });
app.MapPost("/orders", (SmokeData data) => received.Enqueue(data)).WithTopic("pubsub", "orders");
await app.StartAsync();

var failures = 0;
async Task Check(string name, Func<Task> check)
{
    try
    {
        await check();
        Console.WriteLine($"PASS {name}");
    }
    catch (Exception ex)
    {
        failures++;
        Console.WriteLine($"FAIL {name}: {ex}");
    }
}

void Expect(bool condition, string what)
{
    if (!condition)
    {
        throw new InvalidOperationException(what);
    }
}

var id = new ActorId(Guid.NewGuid().ToString("N"));
var proxy = ActorProxy.Create<ISmokeActor>(id, nameof(SmokeActor));

await Check("actor remoting call and StateManager", async () =>
{
    await proxy.SetDataAsync(new SmokeData("first", 1));
    Expect(await proxy.GetDataAsync() == new SmokeData("first", 1), "the actor state read back differs");
});

await Check("actor non-remoting call", async () =>
{
    var weak = ActorProxy.Create(id, nameof(SmokeActor));
    var data = await weak.InvokeMethodAsync<SmokeData?>(nameof(ISmokeActor.GetDataAsync));
    Expect(data == new SmokeData("first", 1), $"non-remoting read {data}");
});

await Check("actor timer and reminder", async () =>
{
    await proxy.StartTicksAsync();
    var deadline = DateTime.UtcNow.AddSeconds(15);
    Ticks ticks;
    while ((ticks = await proxy.GetTicksAsync()) is not { Timer: >= 2, Reminder: >= 2 })
    {
        Expect(DateTime.UtcNow < deadline, $"timer and reminder did not tick twice within 15 s ({ticks})");
        await Task.Delay(100);
    }

    await proxy.StopTicksAsync();
});

var dapr = app.Services.GetRequiredService<DaprClient>();
await Check("state with an ETag", async () =>
{
    await dapr.SaveStateAsync("statestore", "dotnet-key", new SmokeData("s", 1));
    var (value, etag) = await dapr.GetStateAndETagAsync<SmokeData>("statestore", "dotnet-key");
    Expect(value == new SmokeData("s", 1), "state read back differs");
    Expect(await dapr.TrySaveStateAsync("statestore", "dotnet-key", new SmokeData("s", 2), etag), "save with the current ETag refused");
    Expect(!await dapr.TrySaveStateAsync("statestore", "dotnet-key", new SmokeData("s", 3), etag), "save with a stale ETag accepted");
});

await Check("state transaction and bulk get", async () =>
{
    await dapr.ExecuteStateTransactionAsync("statestore",
    [
        // Transaction values are bytes; DaprClient reads state as web-style JSON.
        new StateTransactionRequest("tx-1", JsonSerializer.SerializeToUtf8Bytes(new SmokeData("t", 1), JsonSerializerOptions.Web), StateOperationType.Upsert),
        new StateTransactionRequest("dotnet-key", null, StateOperationType.Delete),
    ]);
    var items = await dapr.GetBulkStateAsync<SmokeData>("statestore", ["tx-1", "dotnet-key"], parallelism: 2);
    Expect(items.Single(i => i.Key == "tx-1").Value == new SmokeData("t", 1), "the transaction's upsert is missing");
    Expect(items.Single(i => i.Key == "dotnet-key").Value is null, "the transaction's delete left the key");
});

await Check("subscription, publish and bulk publish (gRPC)", async () =>
{
    // The sidecar subscribes once it has read /dapr/subscribe: publish probes until one arrives.
    var deadline = DateTime.UtcNow.AddSeconds(10);
    while (!received.Any(d => d.Name == "probe"))
    {
        Expect(DateTime.UtcNow < deadline, "no probe reached the subscription within 10 s");
        await dapr.PublishEventAsync("pubsub", "orders", new SmokeData("probe", 0));
        await Task.Delay(200);
    }

    await dapr.PublishEventAsync("pubsub", "orders", new SmokeData("single", 1));
    var bulk = await dapr.BulkPublishEventAsync("pubsub", "orders", [new SmokeData("bulk", 1), new SmokeData("bulk", 2)]);
    Expect(bulk.FailedEntries.Count == 0, "bulk publish reported failed entries");
    while (!(received.Any(d => d == new SmokeData("single", 1)) && received.Count(d => d.Name == "bulk") == 2))
    {
        Expect(DateTime.UtcNow < deadline.AddSeconds(10), $"published events missing: {string.Join(", ", received)}");
        await Task.Delay(100);
    }
});

await Check("service invocation", async () =>
{
    // The SDK's recommended form: an HttpClient that sends http://{app-id}/... through the sidecar.
    using var http = DaprClient.CreateInvokeHttpClient(Environment.GetEnvironmentVariable("APP_ID"));
    using var response = await http.PostAsJsonAsync("/echo", new SmokeData("e", 1));
    var echoed = await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<SmokeData>();
    Expect(echoed == new SmokeData("e", 2), $"echo answered {echoed}");
});

await app.StopAsync();
Console.WriteLine(failures == 0 ? "ALL PASSED" : $"{failures} FAILED");
return failures == 0 ? 0 : 1;
