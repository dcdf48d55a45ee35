using System.Net;
using Chat.Gateway;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chat.Integration.Tests.Reliability;

/// <summary>
/// The gateway takes client connections only once its sidecar reports ready, i.e. once its
/// deliveries subscription is in place (a CI run lost a first message to that window).
/// </summary>
[Trait("Area", "Delivery")]
public sealed class DeliveryReadinessTests
{
    [Fact]
    public async Task The_gate_stays_shut_until_the_sidecar_has_the_apps_subscriptions_then_opens()
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("chat-ready-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "pubsub.yaml"),
            "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\nspec:\n  type: pubsub.in-memory\n  version: v1\n");
        await using var runtime = new ComponentRuntime(NullLoggerFactory.Instance, TimeProvider.System);
        var appPort = SidecarHost.FreePort();
        await using var sidecar = await SidecarHost.StartAsync(new SidecarOptions { AppId = "gateway", AppPort = appPort, ResourcesPaths = [dir] }, runtime);

        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["DAPR_HTTP_ENDPOINT"] = sidecar.HttpEndpoint }).Build();
        var readiness = new DeliveryReadiness(config, NullLogger<DeliveryReadiness>.Instance);
        var check = new DeliveryReadinessCheck(readiness);
        await readiness.StartAsync(CancellationToken.None);
        try
        {
            // The app is not listening: the sidecar cannot have its subscriptions.
            Assert.False(await readiness.WaitAsync(TimeSpan.FromMilliseconds(500), CancellationToken.None));
            Assert.Equal(HealthStatus.Unhealthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);

            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, appPort));
            await using var app = builder.Build();
            app.MapGet("/dapr/subscribe", () => Results.Json(new[] { new { pubsubname = "pubsub", topic = "deliveries.g1", route = "/d" } }));
            await app.StartAsync();

            Assert.True(await readiness.WaitAsync(TimeSpan.FromSeconds(15), CancellationToken.None));
            Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);
            Assert.Contains(sidecar.Services.GetRequiredService<Dapr.DevSidecar.PubSub.PubSubSubscriber>().Subscriptions, s => s.Topic == "deliveries.g1");
        }
        finally
        {
            await readiness.StopAsync(CancellationToken.None);
        }
    }
}
