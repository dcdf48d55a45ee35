using Chat.Domain;

namespace Chat.Deploy.Tests;

/// <summary>
/// dapr.scale.yaml: two instances of each app that scales out, each with its own ports and
/// sidecar, on the redis component set, and otherwise the apps of dapr.yaml as they are.
/// </summary>
[Trait("Area", "ScaleOut")]
public sealed class ScaleRunFileTests
{
    private static readonly RunFileDoc Scale = RunFileApp.LoadFile("dapr.scale.yaml");

    [Fact]
    public void Two_instances_of_gateway_messaging_router_and_delivery_on_redis()
    {
        Assert.Equal("./components/redis", Assert.Single(Scale.Common.ResourcesPaths));
        var counts = Scale.Apps.GroupBy(a => a.AppId).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        Assert.Equal(DaprUsage.Apps.Select(a => a.AppId).Order(StringComparer.Ordinal), counts.Keys.Order(StringComparer.Ordinal));
        foreach (var app in new[] { DaprNames.Apps.Gateway, DaprNames.Apps.Messaging, DaprNames.Apps.Router, DaprNames.Apps.Delivery })
        {
            Assert.Equal(2, counts[app]);
        }
    }

    [Fact]
    public void Every_instance_listens_on_its_own_ports_as_dapr_yaml_has_the_app_listen()
    {
        var single = RunFileApp.Load().ToDictionary(a => a.AppId, StringComparer.Ordinal);
        var taken = new HashSet<int>();
        foreach (var instance in Scale.Apps)
        {
            var app = single[instance.AppId];
            Assert.Equal(app.AppDirPath, instance.AppDirPath);
            Assert.Equal(app.Command, instance.Command);
            Assert.Equal(app.AppProtocol, instance.AppProtocol);
            Assert.Equal(app.AppHealthCheckPath, instance.AppHealthCheckPath);
            var ports = Ports(instance);
            Assert.Contains(instance.AppPort, ports);
            Assert.Equal(Ports(app).Count, ports.Count);
            Assert.All(ports, p => Assert.True(taken.Add(p), $"{instance.AppId}: port {p} is used twice"));
            Assert.Equal(app.Env.GetValueOrDefault("Kestrel__EndpointDefaults__Protocols"), instance.Env.GetValueOrDefault("Kestrel__EndpointDefaults__Protocols"));
        }
    }

    /// <summary>The .NET apps listen where ASPNETCORE_URLS says; the Node.js bots app on its app port only (APP_PORT).</summary>
    private static List<int> Ports(RunFileApp app) =>
        app.Env.TryGetValue("ASPNETCORE_URLS", out var urls) ? Ports(urls) : [app.AppPort];

    private static List<int> Ports(string urls) =>
        urls.Split(';').Select(u => int.Parse(u[(u.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
}
