using System.Reflection;
using System.Text.RegularExpressions;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Dapr.DevSidecar.Cli;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;

namespace Chat.Integration.Tests.Security;

/// <summary>
/// Every component set and dapr.yaml load, and each app's scopes cover what it uses, from the one
/// table of <see cref="DaprUsage"/> that the code is checked against too.
/// </summary>
[Trait("Area", "Security")]
public sealed partial class ComponentSetTests
{
    public static readonly string[] Sets = ["embedded", "redis", "production"];

    /// <summary>Metadata a component of a type the dev sidecar does not run (or only emulates) cannot do without (daprd's component docs).</summary>
    private static readonly Dictionary<string, string[]> RequiredMetadata = new(StringComparer.Ordinal)
    {
        ["pubsub.kafka"] = ["brokers", "authType"],
        ["state.cassandra"] = ["hosts", "keyspace", "table"],
        ["bindings.apns"] = ["key-id", "team-id", "private-key"],
        ["bindings.aws.s3"] = ["bucket", "region"],
        ["secretstores.kubernetes"] = [],
    };

    public static TheoryData<string> SetNames => new(Sets);

    [Theory]
    [MemberData(nameof(SetNames))]
    public void Every_yaml_of_the_set_loads_and_every_type_is_run_or_schema_checked(string set)
    {
        var folder = RepoPaths.Components(set);
        var loaded = ResourceLoader.Load([folder]);
        var files = System.IO.Directory.GetFiles(folder, "*.yaml");
        Assert.Equal(files.Length, loaded.Components.Count + loaded.Others.Count);
        Assert.Empty(loaded.Warnings);

        var names = DaprNamesOf("StateStores").Concat(DaprNamesOf("Bindings")).Append(DaprNames.PubSub).Append(DaprNames.Secrets.Store).Order(StringComparer.Ordinal);
        Assert.Equal(names, loaded.Components.Select(c => c.Name).Order(StringComparer.Ordinal));
        var supported = ComponentTypes.Supported.ToHashSet(StringComparer.Ordinal);
        foreach (var component in loaded.Components)
        {
            // state.cassandra is run by the dev sidecar only as an emulation on SQLite: production's file is schema-checked too.
            if (!supported.Contains(component.Type) || component.Type == "state.cassandra")
            {
                Assert.True(RequiredMetadata.TryGetValue(component.Type, out var required), $"{component.SourceFile}: type {component.Type} is neither run by the dev sidecar nor schema-checked here");
                var present = component.RawMetadata.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
                Assert.All(required, r => Assert.True(present.Contains(r), $"{component.SourceFile}: {component.Type} needs metadata '{r}'"));
            }

            if (component.RawMetadata.Any(m => m.SecretKeyRef is not null))
            {
                Assert.True(component.SecretStore == DaprNames.Secrets.Store, $"{component.SourceFile}: secretKeyRef needs auth.secretStore: {DaprNames.Secrets.Store}");
            }
        }
    }

    [Fact]
    public async Task The_embedded_set_starts_in_the_dev_sidecar_for_every_app()
    {
        await using var run = await ChatHarness.InProcessAsync(new() { Apps = [] });
        foreach (var usage in DaprUsage.Apps)
        {
            // Starting a sidecar creates every component in the app's scope (connects SQLite, reads the secrets file).
            var sidecar = await run.StartSidecarAsync(usage.AppId);
            Assert.NotNull(sidecar);
        }
    }

    [Fact]
    public void Dapr_yaml_loads_and_names_every_app_with_the_gateway_on_two_ports()
    {
        var (apps, warnings) = RunFile.Load(Path.Combine(RepoPaths.Root, "dapr.yaml"));
        Assert.Empty(warnings);
        Assert.Equal(DaprUsage.Apps.Select(a => a.AppId).Order(StringComparer.Ordinal), apps.Select(a => a.AppId).Order(StringComparer.Ordinal));
        foreach (var app in apps)
        {
            Assert.All(app.ResourcesPaths, p => Assert.True(System.IO.Directory.Exists(p), $"{app.AppId}: resources path {p} is missing"));
            // Tokens stay on: the run file must not turn them off (the dev sidecar generates them).
            Assert.False(app.Env.ContainsKey("APP_API_TOKEN"), $"{app.AppId} sets APP_API_TOKEN in dapr.yaml");
            Assert.False(app.Env.ContainsKey("DAPR_API_TOKEN"), $"{app.AppId} sets DAPR_API_TOKEN in dapr.yaml");
        }

        var gateway = apps.Single(a => a.AppId == DaprNames.Apps.Gateway);
        var urls = gateway.Env["ASPNETCORE_URLS"].Split(';');
        Assert.Contains($"http://127.0.0.1:{gateway.AppPort}", urls);
        Assert.Contains("http://127.0.0.1:5080", urls);
        Assert.NotEqual(5080, gateway.AppPort);
    }

    public static TheoryData<string, string> ScopedSets()
    {
        var data = new TheoryData<string, string>();
        foreach (var set in Sets)
        {
            foreach (var app in DaprUsage.Apps)
            {
                data.Add(set, app.AppId);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ScopedSets))]
    public void Each_apps_scopes_cover_the_components_it_uses(string set, string appId)
    {
        var components = ResourceLoader.Load([RepoPaths.Components(set)]).Components.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var usage = DaprUsage.Of(appId)!;
        foreach (var name in usage.Components)
        {
            Assert.True(components.TryGetValue(name, out var component), $"components/{set} has no '{name}', which {appId} uses");
            Assert.True(component.IsInScope(appId), $"components/{set}/{Path.GetFileName(component.SourceFile)}: scopes leave out '{appId}', which uses it");
        }
    }

    [Theory]
    [MemberData(nameof(SetNames))]
    public void Scopes_name_only_apps_that_use_the_component(string set)
    {
        foreach (var component in ResourceLoader.Load([RepoPaths.Components(set)]).Components)
        {
            foreach (var app in component.Scopes)
            {
                Assert.True(DaprUsage.Of(app)?.Components.Contains(component.Name) == true,
                    $"components/{set}/{Path.GetFileName(component.SourceFile)}: '{app}' is in scope but does not use it (least privilege)");
            }
        }
    }

    /// <summary>
    /// The table covers what the code does: state stores, bindings and topics each app's source
    /// names (and Chat.Core types it uses), subscriptions and publications by call site.
    /// </summary>
    [Fact]
    public void The_usage_table_covers_every_component_and_topic_the_code_names()
    {
        var core = System.IO.Directory.GetFiles(Path.Combine(RepoPaths.Root, "services", "Chat.Core"), "*.cs", SearchOption.AllDirectories)
            .Select(f => (Types: TypeDecl().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value).ToList(), Text: File.ReadAllText(f)))
            .ToList();
        var folders = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [DaprNames.Apps.Gateway] = "Chat.Gateway",
            [DaprNames.Apps.Messaging] = "Chat.Messaging",
            [DaprNames.Apps.Directory] = "Chat.Directory",
            [DaprNames.Apps.Presence] = "Chat.Presence",
            [DaprNames.Apps.Router] = "Chat.Router",
            [DaprNames.Apps.Delivery] = "Chat.Delivery",
            // Node.js: no C# to scan; its names are in services/chat-bots/src/main.ts.
            [DaprNames.Apps.Bots] = "chat-bots",
        };
        Assert.Equal(folders.Keys.Order(StringComparer.Ordinal), DaprUsage.Apps.Select(a => a.AppId).Order(StringComparer.Ordinal));
        foreach (var (appId, folder) in folders)
        {
            var usage = DaprUsage.Of(appId)!;
            var own = string.Join('\n', System.IO.Directory.GetFiles(Path.Combine(RepoPaths.Root, "services", folder), "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
                .Select(File.ReadAllText));
            var used = own + string.Concat(core.Where(c => c.Types.Any(t => Regex.IsMatch(own, $@"\b{t}\b"))).Select(c => "\n" + c.Text));

            foreach (Match m in NameUse().Matches(used))
            {
                var value = Constant(m.Groups[1].Value, m.Groups[2].Value);
                var list = m.Groups[1].Value == "StateStores" ? usage.StateStores : usage.Bindings;
                Assert.True(list.Contains(value), $"{appId} uses {value} (DaprNames.{m.Groups[1].Value}.{m.Groups[2].Value}) but DaprUsage does not list it");
            }

            foreach (Match m in Publish().Matches(used))
            {
                Assert.Contains(TopicOf(m.Groups[1].Value), usage.Publishes);
            }

            foreach (Match m in Subscribe().Matches(used))
            {
                Assert.Contains(TopicOf(m.Groups[1].Value), usage.Subscribes);
            }

            var readsSecrets = used.Contains("AddChatAuthentication", StringComparison.Ordinal) || used.Contains("DaprNames.Secrets.Store", StringComparison.Ordinal);
            Assert.Equal(readsSecrets, usage.SecretStores.Contains(DaprNames.Secrets.Store));
            Assert.Equal(used.Contains("RegisterActor<", StringComparison.Ordinal), usage.HostsActors.Count > 0);
        }
    }

    private static string TopicOf(string expression) =>
        expression.StartsWith("Deliveries(", StringComparison.Ordinal) ? DaprNames.Topics.DeliveriesPrefix + "{instanceId}"
        : expression.StartsWith("RouteChanges(", StringComparison.Ordinal) ? DaprNames.Topics.RouteChangesPrefix + "{instanceId}"
        : Constant("Topics", expression);

    private static string Constant(string group, string name) =>
        (string)typeof(DaprNames).GetNestedType(group)!.GetField(name, BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;

    private static IEnumerable<string> DaprNamesOf(string group) =>
        typeof(DaprNames).GetNestedType(group)!.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (string)f.GetValue(null)!);

    [GeneratedRegex(@"DaprNames\.(StateStores|Bindings)\.(\w+)")]
    private static partial Regex NameUse();

    [GeneratedRegex(@"PublishProtoAsync\(\s*DaprNames\.PubSub,\s*DaprNames\.Topics\.(\w+(?:\([^)]*\))?)")]
    private static partial Regex Publish();

    [GeneratedRegex(@"WithTopic\(\s*DaprNames\.PubSub,\s*DaprNames\.Topics\.(\w+(?:\([^)]*\))?)")]
    private static partial Regex Subscribe();

    [GeneratedRegex(@"(?:class|record|interface)\s+(\w+)")]
    private static partial Regex TypeDecl();
}
