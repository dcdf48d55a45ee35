using System.Text.Json;
using Chat.Domain;
using Chat.Integration.Tests.Reliability.Workload;
using Xunit.Abstractions;

namespace Chat.Integration.Tests.Reliability;

/// <summary>
/// Issue 20: the topology of dapr.scale.yaml (two instances each of router, messaging, delivery
/// and gateway) on the redis component set, with every app instance behind its own dev-sidecar
/// process: name resolution and actor placement are shared between the processes.
/// </summary>
[Trait("Area", "ScaleOut")]
[Collection(ReliabilityCollection.Name)]
public sealed class ScaleOutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Clients_on_both_gateways_chat_one_to_one_and_in_a_group_with_every_instance_in_its_own_sidecar_process()
    {
        await using var system = await AppProcesses.StartScaledAsync(instances: 2, AppProcesses.AllApps);
        Assert.All(system.Instances, i => Assert.NotNull(i.SidecarProcess));
        Assert.Equal(2, system.LiveGatewayUrls.Count);
        // Both routers' sidecars are in the placement table: the conversation actors are spread over two processes.
        await Wait.UntilAsync(() => RouterHostsInTable(system) == 2, "a placement table with both router hosts", TimeSpan.FromSeconds(30));

        // Devices connect to the gateways in turn: members of one conversation sit on different gateways.
        await using var workload = await ChatWorkload.CreateAsync(system, () => system.LiveGatewayUrls,
            new WorkloadOptions { MaxMessagesPerDevice = 6 });
        workload.Start();
        await workload.WaitForAcksAsync(30, TimeSpan.FromSeconds(60));
        await workload.StopAndSettleAsync();
        var result = await workload.CheckAsync();
        output.WriteLine(result.ToString());
        Assert.True(result.Ok, $"{result}\n{system.LogTails()}");
        Assert.True(workload.History.FirstLive > 0, "messages should be pushed live across gateways, not only found by sync");
    }

    /// <summary>Hosts of the router's actor types in the placement table in effect.</summary>
    internal static int RouterHostsInTable(AppProcesses system) => RouterHostsInTable(system.PlacementFolder);

    /// <summary>Hosts of the router's actor types in the placement table in effect in <paramref name="placementFolder"/>.</summary>
    internal static int RouterHostsInTable(string placementFolder)
    {
        try
        {
            using var table = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(placementFolder, "table.json")));
            if (table.RootElement.GetProperty("phase").GetString() != "unlock")
            {
                return 0;
            }

            return table.RootElement.GetProperty("members").EnumerateArray()
                .SelectMany(m => m.GetProperty("hosts").EnumerateArray())
                .Count(h => h.GetProperty("types").EnumerateArray().Any(t => t.GetString() == DaprNames.Actors.Conversation));
        }
        catch (Exception ex) when (ex is IOException or JsonException or KeyNotFoundException)
        {
            return 0;
        }
    }
}
