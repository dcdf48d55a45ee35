using System.Text;

namespace Chat.Deploy.Tests.Docs;

/// <summary>
/// tye.yaml is generated from dapr.yaml, so the two cannot drift: this test writes what it must
/// say and fails when it says anything else (CHAT_UPDATE_DOCS=1 rewrites it).
/// </summary>
[Trait("Area", "House")]
public sealed class TyeFileTests
{
    // Set by Tye from the service's bindings.
    private static readonly string[] BindingEnv = ["ASPNETCORE_URLS", "Kestrel__EndpointDefaults__Protocols"];

    [Fact]
    public void Tye_yaml_is_dapr_yaml_for_tye()
    {
        var expected = Generate(RunFileApp.LoadFile("dapr.yaml"));
        var path = Path.Combine(Repo.Root, "tye.yaml");
        if (Environment.GetEnvironmentVariable("CHAT_UPDATE_DOCS") == "1")
        {
            File.WriteAllText(path, expected);
        }

        Assert.Equal(expected, File.ReadAllText(path));
    }

    [Fact]
    public void A_port_changed_in_dapr_yaml_changes_tye_yaml()
    {
        var run = RunFileApp.LoadFile("dapr.yaml");
        var before = Generate(run);
        var router = run.Apps.Single(a => a.AppId == "router");
        router.Env["ASPNETCORE_URLS"] = "http://127.0.0.1:6104";

        Assert.DoesNotContain("port: 6104", before, StringComparison.Ordinal);
        Assert.Contains("port: 6104", Generate(run), StringComparison.Ordinal);
    }

    private static string Generate(RunFileDoc run)
    {
        var y = new StringBuilder();
        y.Append("""
            # Generated from dapr.yaml by tests/Chat.Deploy.Tests (TyeFileTests; CHAT_UPDATE_DOCS=1 rewrites it):
            # the same apps for Project Tye users (Tye is archived: dotnet/tye#1622). The Dapr extension
            # starts one daprd per service with the components of dapr.yaml's resourcesPaths.
            name: chat-dapr
            extensions:
              - name: dapr

            """);
        y.Append($"    components-path: {run.Common.ResourcesPaths[0]}\n");
        y.Append("    log-level: warn\nservices:\n");
        foreach (var app in run.Apps)
        {
            var dir = app.AppDirPath.TrimStart('.', '/');
            y.Append($"  - name: {app.AppId}\n");
            if (app.Command[0] == "dotnet")
            {
                var project = Directory.EnumerateFiles(Path.Combine(Repo.Root, dir), "*.csproj").Single();
                y.Append($"    project: {dir}/{Path.GetFileName(project)}\n");
            }
            else
            {
                y.Append($"    executable: {app.Command[0]}\n    args: {string.Join(' ', app.Command.Skip(1))}\n    working-directory: {dir}\n");
            }

            if (app.AppProtocol == "grpc")
            {
                y.Append("    app-protocol: grpc\n");
            }

            var ports = app.Env.TryGetValue("ASPNETCORE_URLS", out var urls)
                ? urls.Split(';').Select(u => new Uri(u).Port).ToList()
                : [app.AppPort];
            var env = run.Common.Env.Concat(app.Env).Where(e => !BindingEnv.Contains(e.Key)).ToList();
            if (ports.Count > 1)
            {
                // The Dapr CLI tells the app which of its ports is the sidecar's; Tye does not.
                env.Add(new("APP_PORT", app.AppPort.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }

            y.Append("    env:\n");
            foreach (var (name, value) in env)
            {
                y.Append($"      - name: {name}\n        value: \"{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"\n");
            }

            var protocol = app.Env.GetValueOrDefault("Kestrel__EndpointDefaults__Protocols") == "Http2" ? "http2" : "http";
            y.Append("    bindings:\n");
            foreach (var port in ports.OrderBy(p => p == app.AppPort ? 0 : 1))
            {
                var name = ports.Count == 1 ? "" : port == app.AppPort ? "      - name: dapr\n" : "      - name: clients\n";
                y.Append(name.Length > 0 ? $"{name}        port: {port}\n" : $"      - port: {port}\n");
                y.Append($"        protocol: {protocol}\n");
            }
        }

        return y.ToString();
    }
}
