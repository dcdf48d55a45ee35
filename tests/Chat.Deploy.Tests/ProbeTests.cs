using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using k8s.Models;

namespace Chat.Deploy.Tests;

/// <summary>
/// The gRPC apps, started with the environment of their Deployment (ports moved to free loopback
/// ports, no sidecar): kubelet's HTTP/1.1 probes reach the health port, the app port speaks
/// h2c only, and readiness stays closed without the sidecar while liveness is open.
/// </summary>
[Trait("Area", "ScaleOut")]
public sealed class ProbeTests
{
    public static TheoryData<string> GrpcApps => new(RunFileApp.Load().Where(a => a.AppProtocol == "grpc").Select(a => a.AppId));

    [Theory]
    [MemberData(nameof(GrpcApps))]
    public async Task Probes_answer_over_http1_and_the_app_port_speaks_h2c(string appId)
    {
        var app = RunFileApp.Load().Single(a => a.AppId == appId);
        var deployment = ManifestSet.FromKustomization(Path.Combine(Repo.Kubernetes, "base")).Of<V1Deployment>()
            .Single(d => ManifestRules.Annotation(d, "app-id") == appId);
        var container = deployment.Spec.Template.Spec.Containers[0];

        // Every port of the manifest moves to a free loopback port, consistently.
        var ports = container.Ports.ToDictionary(p => p.ContainerPort, _ => FreePort());
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in container.Env.Where(e => e.Value is not null && !e.Name.StartsWith("OTEL_", StringComparison.Ordinal)))
        {
            var value = variable.Value.Replace("//+:", "//127.0.0.1:", StringComparison.Ordinal);
            foreach (var (from, to) in ports)
            {
                value = value.Replace($":{from}", $":{to}", StringComparison.Ordinal);
                if (value == from.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    value = to.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            env[variable.Name] = value;
        }

        env["APP_API_TOKEN"] = Guid.NewGuid().ToString("N");
        env["DAPR_API_TOKEN"] = Guid.NewGuid().ToString("N");
        env["DAPR_HTTP_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture); // no sidecar there
        env["DAPR_GRPC_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var probePort = ports[ContainerPort(container, container.LivenessProbe.HttpGet.Port.Value)];
        var appPort = ports[app.AppPort];
        using var process = StartApp(app, env);
        try
        {
            using var http1 = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var live = new Uri($"http://127.0.0.1:{probePort}{container.LivenessProbe.HttpGet.Path}");
            var deadline = DateTime.UtcNow.AddSeconds(60);
            HttpStatusCode? status = null;
            while (DateTime.UtcNow < deadline && !process.HasExited && (status = await StatusAsync(http1, live)) != HttpStatusCode.OK)
            {
                await Task.Delay(200);
            }

            Assert.True(status == HttpStatusCode.OK, $"{appId}: liveness {live} answered {status?.ToString() ?? "nothing"} (exited: {process.HasExited})");
            using var ready = await http1.GetAsync(new Uri($"http://127.0.0.1:{probePort}{container.ReadinessProbe.HttpGet.Path}"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);

            // The app port: HTTP/1.1 is refused, h2c (what the sidecar speaks with app-protocol grpc) answers.
            var onAppPort = new Uri($"http://127.0.0.1:{appPort}{container.LivenessProbe.HttpGet.Path}");
            Assert.NotEqual(HttpStatusCode.OK, await StatusAsync(http1, onAppPort));
            using var h2c = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
            Assert.Equal(HttpStatusCode.OK, (await h2c.GetAsync(onAppPort)).StatusCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>The status of a GET, or null when the connection fails (e.g. HTTP/1.1 to an h2c-only port).</summary>
    private static async Task<HttpStatusCode?> StatusAsync(HttpClient client, Uri uri)
    {
        try
        {
            using var response = await client.GetAsync(uri);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static Process StartApp(RunFileApp app, Dictionary<string, string> env)
    {
        var folder = Path.GetFullPath(Path.Combine(Repo.Root, app.AppDirPath));
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var dll = Path.Combine(folder, "bin", configuration, "net10.0", Path.GetFileName(folder) + ".dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var start = new ProcessStartInfo("dotnet", [dll]) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in env)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{dll} did not start");
        // Drain the output so the app never blocks on a full pipe.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static int ContainerPort(V1Container container, string port) =>
        int.TryParse(port, out var number) ? number : container.Ports.Single(p => p.Name == port).ContainerPort;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
