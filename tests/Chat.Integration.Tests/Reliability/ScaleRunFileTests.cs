using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Chat.Contracts.V1;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Chat.Testing;
using Grpc.Net.Client;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Integration.Tests.Reliability;

/// <summary>
/// dapr.scale.yaml as <c>./run.sh --scale</c> runs it: the dev sidecar's runner with
/// <c>--sidecar-processes</c>, every app instance behind a sidecar process of its own. The run
/// file is the repo's, with only its resources path and app folders made absolute (it runs from a
/// run folder holding the redis set with this test's redis-server); its ports are the file's own.
/// </summary>
[Trait("Area", "ScaleOut")]
[Collection(ReliabilityCollection.Name)]
public sealed class ScaleRunFileTests
{
    private static readonly string[] GatewayUrls = ["http://127.0.0.1:5080", "http://127.0.0.1:5081"];

    [Fact]
    public async Task The_scale_run_file_runs_with_the_runner_and_clients_on_both_gateways_chat()
    {
        await using var redis = await RedisServer.StartAsync();
        var folder = RunFolder.Create(ComponentSet.Redis, redis.Endpoint, GatewayUrls[0] + "/", prefix: "chat-scale-run-");
        var registry = Path.Combine(folder.Root, "registry");
        var placement = Path.Combine(folder.Root, "placement");
        var runFile = Path.Combine(folder.Root, "dapr.scale.yaml");
        await File.WriteAllTextAsync(runFile, (await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "dapr.scale.yaml")))
            .Replace("    - ./components/redis", $"    - {folder.ComponentsPath}", StringComparison.Ordinal)
            .Replace("appDirPath: ./", $"appDirPath: {RepoPaths.Root}/", StringComparison.Ordinal));

        var start = new ProcessStartInfo("dotnet", [Path.Combine(RepoPaths.Root, "tools/Dapr.DevSidecar/bin/Release/net10.0/dapr-dev-sidecar.dll"), "run", "-f", runFile, "--sidecar-processes"])
        {
            WorkingDirectory = folder.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // A registry and placement of this run's own, so nothing else on the machine joins it.
        start.Environment["DAPR_DEV_SIDECAR_REGISTRY"] = registry;
        start.Environment["DAPR_DEV_SIDECAR_PLACEMENT"] = placement;
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var runner = Process.Start(start)!;
        runner.OutputDataReceived += (_, e) => log.Enqueue(e.Data ?? "");
        runner.ErrorDataReceived += (_, e) => log.Enqueue(e.Data ?? "");
        runner.BeginOutputReadLine();
        runner.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            foreach (var gateway in GatewayUrls)
            {
                await Wait.UntilAsync(async () => !runner.HasExited && await ReadyAsync(http, gateway), $"{gateway} ready", TimeSpan.FromSeconds(150));
            }

            // Alice on gateway 1; Bob and Carol on gateway 2.
            var alice = await HubClient.ConnectAsync(GatewayUrls[0], await RegisterAsync(http, GatewayUrls[0], "alice"));
            var bob = await HubClient.ConnectAsync(GatewayUrls[1], await RegisterAsync(http, GatewayUrls[1], "bob"));
            var carol = await HubClient.ConnectAsync(GatewayUrls[1], await RegisterAsync(http, GatewayUrls[1], "carol"));
            await using (alice)
            await using (bob)
            await using (carol)
            {
                for (var i = 0; i < 5; i++)
                {
                    await alice.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage",
                        new SendMessageArgs(null, bob.User.UserId, $"direct-{i}-{Guid.NewGuid():N}", $"hi {i}"));
                }

                for (var i = 0; i < 5; i++)
                {
                    var text = $"hi {i}";
                    await bob.WaitForAsync<MessageDto>(m => m.Text == text, TimeSpan.FromSeconds(30));
                }

                var group = await alice.Connection.InvokeAsync<GroupDto>("CreateGroup", "scale", new[] { bob.User.UserId, carol.User.UserId });
                await bob.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(group.ConversationId, null, $"group-{Guid.NewGuid():N}", "to all"));
                await alice.WaitForAsync<MessageDto>(m => m.Text == "to all", TimeSpan.FromSeconds(30));
                await carol.WaitForAsync<MessageDto>(m => m.Text == "to all", TimeSpan.FromSeconds(30));
            }

            // Both routers' sidecar processes are in one placement table: the actors are spread over two processes.
            await Wait.UntilAsync(() => ScaleOutTests.RouterHostsInTable(placement) == 2, "a placement table with both router hosts", TimeSpan.FromSeconds(30));
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{ex.Message}\nrunner log (last lines):\n{string.Join('\n', log.TakeLast(80))}", ex);
        }
        finally
        {
            // As Ctrl+C would: the runner stops every sidecar process, each stopping its app.
            Process.Start("kill", ["-TERM", runner.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            if (!runner.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                runner.Kill(entireProcessTree: true);
            }

            folder.Delete();
        }
    }

    private static async Task<bool> ReadyAsync(HttpClient http, string gateway)
    {
        try
        {
            using var response = await http.GetAsync(new Uri($"{gateway}/health/ready"));
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// A user registered through the gateway's JSON auth API, as the web client registers. A gateway
    /// is ready before the directory instances behind it may be (every app starts on its own), so a
    /// register that times out or meets a 5xx is tried again, as a client would, until one answers.
    /// </summary>
    private static async Task<TestUser> RegisterAsync(HttpClient http, string gateway, string name)
    {
        var userName = "";
        HttpResponseMessage? response = null;
        await Wait.UntilAsync(async () =>
        {
            response?.Dispose();
            // A new name each time: an attempt that timed out may still have registered its own.
            userName = $"{name}{Guid.NewGuid():N}"[..20];
            try
            {
                response = await http.PostAsJsonAsync(new Uri($"{gateway}/api/auth/register"),
                    new { userName, password = "correct horse battery", displayName = name, deviceId = "d1" });
                return (int)response.StatusCode < 500;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                response = null;
                return false;
            }
        }, $"register {name} at {gateway}", TimeSpan.FromSeconds(60));
        using var answered = response!;
        var body = await answered.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(answered.IsSuccessStatusCode, $"register {userName}: {(int)answered.StatusCode} {body}");
        // The hub is all this test uses; the gRPC clients point at the gateway and stay unused.
        var channel = GrpcChannel.ForAddress(gateway);
        return new TestUser(body.GetProperty("userId").GetString()!, userName, body.GetProperty("accessToken").GetString()!,
            new MessagingService.MessagingServiceClient(channel), new DirectoryService.DirectoryServiceClient(channel));
    }
}
