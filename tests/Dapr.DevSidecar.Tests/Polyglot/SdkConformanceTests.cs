using System.Globalization;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.Tests.Infrastructure;

namespace Dapr.DevSidecar.Tests.Polyglot;

/// <summary>
/// Programs written with official Dapr SDKs as their documentation shows them, every option at
/// its default, run as their own processes against a dev sidecar with the environment `dapr run`
/// gives an app: the .NET actor SDK (tests/Polyglot/DotnetActorSdk) and the JS SDK
/// (tests/Polyglot/js-sdk, installed with `npm ci` on first use). Each prints PASS/FAIL per check.
/// </summary>
[Trait("Area", "Polyglot")]
public sealed class SdkConformanceTests
{
    private static readonly SemaphoreSlim NpmInstall = new(1, 1);

    private static SidecarTestHost Host() => new SidecarTestHost()
        .WithComponent("state.yaml", SidecarTestHost.Component("statestore", "state.in-memory", ("actorStateStore", "true")))
        .WithComponent("pubsub.yaml", SidecarTestHost.Component("pubsub", "pubsub.in-memory"));

    private static Dictionary<string, string> DaprRunEnv(RunningSidecar sidecar, string appId, int appPort) => new()
    {
        ["APP_ID"] = appId,
        ["APP_PORT"] = appPort.ToString(CultureInfo.InvariantCulture),
        ["DAPR_HTTP_PORT"] = sidecar.HttpPort.ToString(CultureInfo.InvariantCulture),
        ["DAPR_GRPC_PORT"] = sidecar.GrpcPort.ToString(CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task Dotnet_actor_sdk_with_its_defaults_works_unmodified()
    {
        await using var host = Host();
        var appPort = SidecarHost.FreePort();
        var sidecar = await host.StartSidecarAsync("dotnet-sdk", appPort);
        var env = DaprRunEnv(sidecar, "dotnet-sdk", appPort);
        env["ASPNETCORE_URLS"] = $"http://127.0.0.1:{appPort}";
        env["Logging__LogLevel__Default"] = "Warning";

        var dll = RepoPaths.Built(Path.Combine("tests", "Polyglot", "DotnetActorSdk"), "dotnet-actor-sdk");
        var result = await SdkProgram.RunAsync("dotnet", [dll], Path.GetDirectoryName(dll)!, env, TimeSpan.FromSeconds(90));

        AssertAllPassed(result, [
            "actor remoting call and StateManager", "actor non-remoting call", "actor timer and reminder",
            "state with an ETag", "state transaction and bulk get", "subscription, publish and bulk publish (gRPC)", "service invocation"]);
    }

    [Fact]
    public async Task Js_sdk_works_unmodified_over_http_and_grpc()
    {
        var dir = Path.Combine(RepoPaths.Root, "tests", "Polyglot", "js-sdk");
        await EnsureNodeModulesAsync(dir);
        await using var host = Host();
        var appPort = SidecarHost.FreePort();
        var sidecar = await host.StartSidecarAsync("js-sdk", appPort);

        var result = await SdkProgram.RunAsync("node", ["conformance.mjs"], dir, DaprRunEnv(sidecar, "js-sdk", appPort), TimeSpan.FromSeconds(90));

        var checks = new List<string> { "subscription receives" };
        foreach (var protocol in (string[])["http", "grpc"])
        {
            checks.AddRange([
                $"{protocol}: state save, get and bulk get", $"{protocol}: state ETags", $"{protocol}: state transaction",
                $"{protocol}: publish and bulk publish", $"{protocol}: service invocation"]);
        }

        AssertAllPassed(result, checks);
    }

    private static void AssertAllPassed(SdkProgram.Result result, IEnumerable<string> checks)
    {
        Assert.True(result.ExitCode == 0, $"the SDK program exited with {result.ExitCode}:\n{result.Output}");
        var lines = result.Output.Split('\n').Select(l => l.TrimEnd('\r')).ToHashSet(StringComparer.Ordinal);
        foreach (var check in checks)
        {
            Assert.True(lines.Contains("PASS " + check), $"'{check}' did not pass:\n{result.Output}");
        }
    }

    /// <summary>A clean clone (CI) has no node_modules: install the locked packages once, as `npm ci` does.</summary>
    private static async Task EnsureNodeModulesAsync(string dir)
    {
        await NpmInstall.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(dir, "node_modules", "@dapr", "dapr", "package.json")))
            {
                return;
            }

            var install = await SdkProgram.RunAsync("npm", ["ci", "--no-audit", "--no-fund"], dir, new Dictionary<string, string>(), TimeSpan.FromMinutes(5));
            Assert.True(install.ExitCode == 0, $"npm ci failed in {dir}:\n{install.Output}");
        }
        finally
        {
            NpmInstall.Release();
        }
    }
}
