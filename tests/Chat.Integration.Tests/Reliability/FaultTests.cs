using Chat.Domain;
using Chat.Integration.Tests.Reliability.Workload;
using Xunit.Abstractions;

namespace Chat.Integration.Tests.Reliability;

/// <summary>
/// Issue 11: the workload runs on the redis component set with every app a separate process;
/// a fault is injected, held while clients keep sending, and recovered; then the checker must
/// find no acknowledged message lost and nothing stored twice.
/// </summary>
[Trait("Area", "Reliability")]
[Collection(ReliabilityCollection.Name)]
public sealed class FaultTests(ITestOutputHelper output)
{
    /// <summary>Send attempts made while a fault is held (the fault overlaps real traffic).</summary>
    private const int AttemptsDuringFault = 12;

    [Fact]
    public Task Connections_dropped_abruptly() => RunAsync("client connections dropped abruptly (3 rounds, all devices)", async (system, workload) =>
    {
        for (var round = 0; round < 3; round++)
        {
            await Wait.UntilAsync(() => workload.Devices.All(d => d.IsConnected), "every device to be connected", TimeSpan.FromSeconds(60));
            var reconnects = workload.History.Reconnects;
            foreach (var device in workload.Devices)
            {
                device.DropConnection();
            }

            await Wait.UntilAsync(() => workload.History.Reconnects >= reconnects + workload.Devices.Count, "every device to notice the drop", TimeSpan.FromSeconds(30));
            await AcksGrowAsync(workload, 5);
        }
    });

    [Fact]
    public Task Gateway_killed() => KillAndRestartAsync(DaprNames.Apps.Gateway, index: 1);

    [Fact]
    public Task Messaging_killed() => KillAndRestartAsync(DaprNames.Apps.Messaging);

    [Fact]
    public Task Router_killed() => KillAndRestartAsync(DaprNames.Apps.Router);

    [Fact]
    public Task Delivery_killed() => KillAndRestartAsync(DaprNames.Apps.Delivery);

    [Fact]
    public Task Presence_killed() => KillAndRestartAsync(DaprNames.Apps.Presence);

    [Fact]
    public Task Directory_killed() => KillAndRestartAsync(DaprNames.Apps.Directory);

    [Theory]
    [InlineData(DaprNames.Apps.Delivery)]
    [InlineData(DaprNames.Apps.Directory)]
    [InlineData(DaprNames.Apps.Gateway)]
    public Task Sidecar_process_killed(string appId) => RunAsync($"kill -9 of {appId}'s dev sidecar process", async (system, workload) =>
    {
        var sidecar = system.InstanceOf(appId).SidecarProcess!;
        sidecar.Kill();
        await AttemptsGrowAsync(workload, AttemptsDuringFault);
        await sidecar.StartAsync();
    }, ownSidecarProcess: [appId]);

    /// <summary>Issue 20: the router's actors fail over to the other router's sidecar process, and back once it is restarted.</summary>
    [Fact]
    public Task Router_sidecar_process_killed() => RunAsync("kill -9 of a router's dev sidecar process (2 routers; every app instance its own sidecar process)", async (system, workload) =>
    {
        var sidecar = system.InstanceOf(DaprNames.Apps.Router).SidecarProcess!;
        sidecar.Kill();
        await AttemptsGrowAsync(workload, AttemptsDuringFault);
        await sidecar.StartAsync();
    }, ownSidecarProcess: AppProcesses.AllApps, scaled: true);

    /// <summary>
    /// Issue 20: a whole router host (app and sidecar process) dies with its actors active. The other
    /// router takes them over (sends are acknowledged again); the host comes back, as its pod would be
    /// rescheduled, while the run goes on, and takes its share back before the run settles.
    /// </summary>
    [Fact]
    public async Task Router_host_killed()
    {
        Task? rejoin = null;
        await RunAsync("kill -9 of a whole router host, app and sidecar process (2 routers; every app instance its own sidecar process)", async (system, workload) =>
        {
            var router = system.InstanceOf(DaprNames.Apps.Router);
            router.Kill();
            router.SidecarProcess!.Kill();
            await AttemptsGrowAsync(workload, AttemptsDuringFault);
            await Wait.UntilAsync(() => ScaleOutTests.RouterHostsInTable(system) == 1, "a placement table without the dead router host", TimeSpan.FromSeconds(30));
            await AcksGrowAsync(workload, 5);
            // A cold start of both processes takes longer than the workload's sends last: it runs beside the recovery.
            rejoin = Task.Run(async () =>
            {
                await router.SidecarProcess.StartAsync();
                await router.StartAsync();
            });
        }, ownSidecarProcess: AppProcesses.AllApps, scaled: true, beforeSettle: async system =>
        {
            await rejoin!;
            await Wait.UntilAsync(() => ScaleOutTests.RouterHostsInTable(system) == 2, "a placement table with the restarted router host", TimeSpan.FromSeconds(60));
        });
    }

    [Fact]
    public Task Redis_killed_and_restarted_with_aof() => RunAsync("kill -9 of redis-server (AOF everysec), restart", async (system, workload) =>
    {
        system.Redis.Kill();
        await AttemptsGrowAsync(workload, AttemptsDuringFault);
        await system.Redis.RestartAsync();
    });

    private Task KillAndRestartAsync(string appId, int index = 0) => RunAsync($"kill -9 of {appId}", async (system, workload) =>
    {
        var app = system.InstanceOf(appId, index);
        app.Kill();
        await AttemptsGrowAsync(workload, AttemptsDuringFault);
        await app.StartAsync();
    });

    /// <param name="scaled">Two instances of every app that scales out (dapr.scale.yaml), else one of each and two gateways.</param>
    /// <param name="beforeSettle">Awaited after recovery was shown, before sending stops and the run settles.</param>
    private async Task RunAsync(string name, Func<AppProcesses, ChatWorkload, Task> fault, string[]? ownSidecarProcess = null, bool scaled = false,
        Func<AppProcesses, Task>? beforeSettle = null)
    {
        await using var system = scaled
            ? await AppProcesses.StartScaledAsync(instances: 2, ownSidecarProcess ?? [])
            : await AppProcesses.StartAsync(gateways: 2, ownSidecarProcess ?? []);
        var result = await ReliabilityRun.RunAsync(system, fault, output, beforeSettle);
        ReportFile.Append(name, result);
        Assert.True(result.Ok, $"{result}\n{system.LogTails()}");
    }

    private static Task AttemptsGrowAsync(ChatWorkload workload, int more)
    {
        var start = workload.History.Attempts.Count;
        return Wait.UntilAsync(() => workload.History.Attempts.Count >= start + more, $"{more} more send attempts", TimeSpan.FromSeconds(60));
    }

    private static Task AcksGrowAsync(ChatWorkload workload, int more)
    {
        var start = workload.History.Acks.Count;
        return Wait.UntilAsync(() => workload.History.Acks.Count >= start + more, $"{more} more acks", TimeSpan.FromSeconds(90));
    }
}

/// <summary>One workload run around a fault: warm up, fault (and recovery), progress, settle, check.</summary>
public static class ReliabilityRun
{
    public static async Task<CheckResult> RunAsync(AppProcesses system, Func<AppProcesses, ChatWorkload, Task> fault, ITestOutputHelper output,
        Func<AppProcesses, Task>? beforeSettle = null)
    {
        await using var workload = await ChatWorkload.CreateAsync(system, () => system.LiveGatewayUrls);
        workload.Start();
        await workload.WaitForAcksAsync(15, TimeSpan.FromSeconds(90));
        await fault(system, workload);

        // After recovery the system takes messages again, and pushes them live again.
        var acked = workload.History.Acks.Count(a => !a.FromEvent);
        var live = workload.History.FirstLive;
        await Wait.UntilAsync(() => workload.History.Acks.Count(a => !a.FromEvent) >= acked + 15, "15 more acks after recovery", TimeSpan.FromSeconds(120));
        await Wait.UntilAsync(() => workload.History.FirstLive >= live + 5, "live deliveries after recovery", TimeSpan.FromSeconds(90));
        if (beforeSettle is not null)
        {
            await beforeSettle(system);
        }

        await workload.StopAndSettleAsync();
        var result = await workload.CheckAsync();
        output.WriteLine(result.ToString());
        return result;
    }
}

/// <summary>Appends each run's counts to <c>$CHAT_RELIABILITY_REPORT</c> when set (for docs/reliability.md).</summary>
public static class ReportFile
{
    public static void Append(string fault, CheckResult result)
    {
        var path = Environment.GetEnvironmentVariable("CHAT_RELIABILITY_REPORT");
        if (!string.IsNullOrEmpty(path))
        {
            File.AppendAllText(path, $"{fault}: {(result.Ok ? "OK" : "FAILED")}: {result}\n");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ReliabilityCollection
{
    public const string Name = "reliability";
}
