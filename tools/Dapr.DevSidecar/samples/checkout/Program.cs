// The "checkout" sample app: GET /checkout/{id} asks "orders" for the order through Dapr
// service invocation, then publishes "order-placed" for orders to receive through pub/sub.
// DaprClient finds its sidecar through DAPR_HTTP_ENDPOINT / DAPR_GRPC_ENDPOINT, set by the runner.
using Dapr.Client;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.WebHost.UseUrls($"http://127.0.0.1:{Environment.GetEnvironmentVariable("APP_PORT") ?? "5102"}");
builder.Services.AddSingleton(_ => new DaprClientBuilder().Build());
var app = builder.Build();

app.MapGet("/healthz", () => Results.Ok());
app.MapGet("/info", () => Results.Json(new { pid = Environment.ProcessId, appId = Environment.GetEnvironmentVariable("APP_ID"), greeting = Environment.GetEnvironmentVariable("SAMPLE_GREETING") }));
app.MapGet("/checkout/{id}", async (string id, DaprClient dapr, CancellationToken ct) =>
{
    // From the client, so it carries the client's DAPR_API_TOKEN (`run` turns tokens on).
    using var http = dapr.CreateInvokableHttpClient("orders");
    var order = await http.GetStringAsync(new Uri($"/orders/{Uri.EscapeDataString(id)}", UriKind.Relative), ct);
    await dapr.PublishEventAsync("pubsub", "order-placed", new { id }, ct);
    Console.WriteLine($"checked out order {id}");
    return Results.Text($$"""{"checkout":"done","order":{{order}}}""", "application/json");
});

app.Run();
