// The "orders" sample app: answers GET /orders/{id}, called by "checkout" through Dapr service
// invocation, and subscribes to the "order-placed" topic that checkout publishes to.
using System.Collections.Concurrent;
using System.Text.Json;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.WebHost.UseUrls($"http://127.0.0.1:{Environment.GetEnvironmentVariable("APP_PORT") ?? "5101"}");
var app = builder.Build();
var placed = new ConcurrentQueue<string>();

app.UseCloudEvents();
app.MapSubscribeHandler();
app.MapGet("/healthz", () => Results.Ok());
app.MapGet("/info", () => Results.Json(new { pid = Environment.ProcessId, appId = Environment.GetEnvironmentVariable("APP_ID"), greeting = Environment.GetEnvironmentVariable("SAMPLE_GREETING") }));
app.MapGet("/orders/{id}", (string id, HttpRequest request) =>
{
    Console.WriteLine($"order {id} asked by {request.Headers["dapr-caller-app-id"]}");
    return Results.Json(new { id, item = "tea", caller = request.Headers["dapr-caller-app-id"].ToString() });
});
app.MapPost("/order-placed", (JsonElement order) =>
{
    var id = order.GetProperty("id").GetString() ?? "";
    placed.Enqueue(id);
    Console.WriteLine($"order {id} placed");
    return Results.Ok();
}).WithTopic("pubsub", "order-placed");
app.MapGet("/placed", () => Results.Json(placed.ToArray()));

app.Run();
