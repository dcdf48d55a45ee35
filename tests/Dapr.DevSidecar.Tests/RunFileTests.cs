using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dapr.DevSidecar.Cli;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.Tests.Infrastructure;

namespace Dapr.DevSidecar.Tests;

/// <summary>
/// <c>run -f</c> as a new user runs it: the built dapr-dev-sidecar executable, a run file with the
/// two sample apps, a round trip through service invocation and pub/sub, then Ctrl+C (SIGINT).
/// </summary>
[Trait("Area", "DevSidecar")]
public sealed class RunFileTests
{
    private static readonly string RepoRoot = RepoPaths.Root;

    private static string Built(string projectDir, string assembly) => RepoPaths.Built(projectDir, assembly);

    [Fact]
    public async Task Run_file_starts_two_sample_apps_that_talk_through_invocation_and_pubsub_and_stop_cleanly_on_sigint()
    {
        var samples = Path.Combine(RepoRoot, "tools", "Dapr.DevSidecar", "samples");
        var work = Directory.CreateTempSubdirectory("devsidecar-runfile-").FullName;
        var registry = Path.Combine(work, "registry");
        int ordersPort = SidecarHost.FreePort(), checkoutPort = SidecarHost.FreePort();
        var runFile = Path.Combine(work, "dapr.yaml");
        await File.WriteAllTextAsync(runFile, $"""
            version: 1
            common:
              resourcesPaths: ["{Path.Combine(samples, "resources")}"]
              env:
                SAMPLE_GREETING: hello
            apps:
              - appID: orders
                appDirPath: {Path.Combine(samples, "orders")}
                appPort: {ordersPort}
                command: ["dotnet", "{Built("tools/Dapr.DevSidecar/samples/orders", "sample-orders")}"]
              - appID: checkout
                appDirPath: {Path.Combine(samples, "checkout")}
                appPort: {checkoutPort}
                command: ["dotnet", "{Built("tools/Dapr.DevSidecar/samples/checkout", "sample-checkout")}"]
            """);

        // Through `env --default-signal=INT`: a test run started as a background job (nohup, CI
        // runners) inherits SIGINT as ignored, and an ignored signal stays ignored in children.
        // A user's Ctrl+C in a terminal has the default handling, which is what this restores.
        var start = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--default-signal=INT");
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(Built("tools/Dapr.DevSidecar", "dapr-dev-sidecar"));
        start.ArgumentList.Add("run");
        start.ArgumentList.Add("-f");
        start.ArgumentList.Add(runFile);
        start.Environment["DAPR_DEV_SIDECAR_REGISTRY"] = registry;
        foreach (var name in new[] { "DAPR_HTTP_ENDPOINT", "DAPR_GRPC_ENDPOINT", "DAPR_HTTP_PORT", "DAPR_GRPC_PORT", "DAPR_API_TOKEN", "APP_API_TOKEN" })
        {
            start.Environment.Remove(name);
        }

        var lines = new ConcurrentQueue<string>();
        var upAndRunning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sidecar = new Process { StartInfo = start };
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lines.Enqueue(line);
            if (line.Contains("You're up and running! All 2 apps", StringComparison.Ordinal))
            {
                upAndRunning.TrySetResult();
            }
        }

        sidecar.OutputDataReceived += (_, e) => OnLine(e.Data);
        sidecar.ErrorDataReceived += (_, e) => OnLine(e.Data);
        sidecar.Start();
        sidecar.BeginOutputReadLine();
        sidecar.BeginErrorReadLine();
        var appPids = new List<int>();
        try
        {
            var ready = await Task.WhenAny(upAndRunning.Task, sidecar.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
            Assert.True(upAndRunning.Task.IsCompleted, "the apps did not come up:\n" + string.Join('\n', lines));

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var checkout = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{checkoutPort}/checkout/42"))).RootElement;
            Assert.Equal("done", checkout.GetProperty("checkout").GetString());
            Assert.Equal("42", checkout.GetProperty("order").GetProperty("id").GetString());
            Assert.Equal("checkout", checkout.GetProperty("order").GetProperty("caller").GetString());

            // Pub/sub hop: checkout published order-placed; orders' sidecar discovers its subscription
            // once the app is up, so an order checked out before that may be missed: check out until one arrives.
            var delivered = false;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            for (var n = 100; !delivered && DateTime.UtcNow < deadline; n++)
            {
                await http.GetStringAsync(new Uri($"http://127.0.0.1:{checkoutPort}/checkout/{n}"));
                var until = DateTime.UtcNow.AddSeconds(1);
                while (!delivered && DateTime.UtcNow < until)
                {
                    var placed = JsonSerializer.Deserialize<string[]>(await http.GetStringAsync(new Uri($"http://127.0.0.1:{ordersPort}/placed")))!;
                    delivered = placed.Contains(n.ToString(CultureInfo.InvariantCulture));
                    await Task.Delay(50);
                }
            }

            Assert.True(delivered, "no order-placed event reached orders:\n" + string.Join('\n', lines));
            Assert.Contains(lines, l => l.Contains("== APP - orders == order ", StringComparison.Ordinal) && l.EndsWith(" placed", StringComparison.Ordinal));

            foreach (var port in new[] { ordersPort, checkoutPort })
            {
                var info = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/info"))).RootElement;
                appPids.Add(info.GetProperty("pid").GetInt32());
                Assert.Equal("hello", info.GetProperty("greeting").GetString());
            }

            Assert.Contains(lines, l => l.Contains("== APP - orders == order 42 asked by checkout", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("== APP - checkout == checked out order 42", StringComparison.Ordinal));
            Assert.Equal(2, Directory.GetDirectories(registry).Length);

            // Ctrl+C
            using (var kill = Process.Start("kill", ["-INT", sidecar.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var exitWait = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await sidecar.WaitForExitAsync(exitWait.Token);
            Assert.Equal(0, sidecar.ExitCode);
            foreach (var pid in appPids)
            {
                Assert.False(IsRunning(pid), $"app process {pid} is still running after the sidecar stopped");
            }

            Assert.Empty(Directory.GetFiles(registry, "*.json", SearchOption.AllDirectories));
        }
        finally
        {
            if (!sidecar.HasExited)
            {
                sidecar.Kill(entireProcessTree: true);
            }

            foreach (var pid in appPids.Where(IsRunning))
            {
                using var orphan = Process.GetProcessById(pid);
                orphan.Kill();
            }

            Directory.Delete(work, recursive: true);
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [Theory]
    [InlineData("apps:\n  - appDirPath: .\n", "version", "required field 'version' not found")]
    [InlineData("version: 1\napps:\n  - appDirPath: .\n    appPort: abc\n", "apps[0].appPort", "must be a number")]
    [InlineData("version: 1\napps:\n  - appID: a\n", "apps[0].appDirPath", "required field 'appDirPath' not found")]
    [InlineData("version: 1\napps:\n  - appDirPath: ./nope\n", "apps[0].appDirPath", "does not exist")]
    [InlineData("version: 1\napps:\n  - appDirPath: .\n    appProtocol: thrift\n", "apps[0].appProtocol", "http and grpc")]
    [InlineData("version: 1\napps:\n  - appDirPath: .\n    command: {a: b}\n", "apps[0].command", "list of strings")]
    [InlineData("version: 1\ncommon: {}\n", "apps", "at least one app")]
    [InlineData("version: 1\napps:\n  - {appID: a, appDirPath: ., appPort: 7001}\n  - {appID: a, appDirPath: ., appPort: 7001}\n", "apps[1].appPort", "another instance of app 'a' already uses appPort 7001")]
    public void Bad_run_file_names_the_field(string yaml, string field, string reason)
    {
        var dir = Directory.CreateTempSubdirectory("devsidecar-runfile-bad-").FullName;
        try
        {
            var file = Path.Combine(dir, "dapr.yaml");
            File.WriteAllText(file, yaml);
            var ex = Assert.Throws<ArgumentException>(() => RunFile.Load(file));
            Assert.Contains($": {field}: ", ex.Message, StringComparison.Ordinal);
            Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
            Assert.Contains(file, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Run_file_merges_common_and_resolves_resources_in_the_cli_order()
    {
        var dir = Directory.CreateTempSubdirectory("devsidecar-runfile-ok-").FullName;
        try
        {
            foreach (var sub in new[] { "a/.dapr/resources", "b", "c/mine", "shared" })
            {
                Directory.CreateDirectory(Path.Combine(dir, sub));
            }

            var file = Path.Combine(dir, "dapr.yaml");
            File.WriteAllText(file, """
                version: 1
                common:
                  resourcesPaths: [./shared]
                  appProtocol: grpc
                  env: {A: common, B: common}
                apps:
                  - appDirPath: ./a
                    env: {B: app}
                  - appID: bee
                    appDirPath: ./b
                    appProtocol: http
                    appPort: 7001
                    devSidecarReplicas: 3
                  - appDirPath: ./c
                    resourcesPaths: [./mine]
                    command: [dotnet, run]
                """);
            var (apps, _) = RunFile.Load(file);
            Assert.Equal(["a", "bee", "c"], apps.Select(a => a.AppId));
            Assert.Equal([Path.Combine(dir, "a", ".dapr", "resources")], apps[0].ResourcesPaths);
            Assert.Equal([Path.Combine(dir, "shared")], apps[1].ResourcesPaths);
            Assert.Equal([Path.Combine(dir, "c", "mine")], apps[2].ResourcesPaths);
            Assert.Equal(("grpc", "http"), (apps[0].AppProtocol, apps[1].AppProtocol));
            Assert.Equal(("common", "app"), (apps[0].Env["A"], apps[0].Env["B"]));
            Assert.Equal((7001, 3), (apps[1].AppPort, apps[1].Replicas));
            Assert.Equal(["dotnet", "run"], apps[2].Command);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Two_entries_with_one_app_id_are_two_instances_with_their_own_ports()
    {
        var dir = Directory.CreateTempSubdirectory("devsidecar-runfile-instances-").FullName;
        try
        {
            var file = Path.Combine(dir, "dapr.yaml");
            File.WriteAllText(file, """
                version: 1
                apps:
                  - {appID: router, appDirPath: ., appPort: 7001, env: {ASPNETCORE_URLS: "http://127.0.0.1:7001"}}
                  - {appID: router, appDirPath: ., appPort: 7002, env: {ASPNETCORE_URLS: "http://127.0.0.1:7002"}}
                """);
            var (apps, _) = RunFile.Load(file);
            Assert.Equal(["router", "router"], apps.Select(a => a.AppId));
            Assert.Equal([7001, 7002], apps.Select(a => a.AppPort ?? 0));
            Assert.Equal(["http://127.0.0.1:7001", "http://127.0.0.1:7002"], apps.Select(a => a.Env["ASPNETCORE_URLS"]));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
