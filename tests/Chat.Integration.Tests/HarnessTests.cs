using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Dapr.DevSidecar.Components;

namespace Chat.Integration.Tests;

/// <summary>
/// The one integration harness (issue 19): runs read the repo's component sets as they are, and a
/// test says what it needs (set, hosting) and gets a working system either way.
/// </summary>
[Trait("Area", "House")]
public sealed class HarnessTests
{
    /// <summary>The only metadata a run may change (see <see cref="RunFolder"/>): paths, the redis address and the dev gateway's URL.</summary>
    private static readonly HashSet<string> RunFields = new(["connectionString", "secretsFile", "rootPath", "redisHost", "url"], StringComparer.OrdinalIgnoreCase);

    public static TheoryData<ComponentSet> Sets => new() { ComponentSet.Embedded, ComponentSet.Redis };

    [Theory]
    [MemberData(nameof(Sets))]
    public void A_run_folder_is_the_repos_set_with_only_the_run_fields_and_the_tests_changes(ComponentSet set)
    {
        var change = new ComponentChange(DaprNames.Bindings.Fcm) { Metadata = new Dictionary<string, string> { ["url"] = "http://127.0.0.1:1/fcm", ["extra"] = "a \"quoted\"\nvalue" } };
        var run = RunFolder.Create(set, "127.0.0.1:1234", "http://127.0.0.1:4321", new Dictionary<string, string> { ["added-secret"] = "s" }, [change]);
        try
        {
            var repo = ResourceLoader.Load([RepoPaths.Components(RunFolder.SetFolder(set))]).Components.ToDictionary(c => c.Name, StringComparer.Ordinal);
            var copy = ResourceLoader.Load([run.ComponentsPath]).Components.ToDictionary(c => c.Name, StringComparer.Ordinal);
            Assert.Equal(repo.Keys.Order(StringComparer.Ordinal), copy.Keys.Order(StringComparer.Ordinal));
            foreach (var (name, original) in repo)
            {
                var run1 = copy[name];
                Assert.Equal(original.Type, run1.Type);
                Assert.Equal(original.Scopes, run1.Scopes);
                var originalValues = original.RawMetadata.ToDictionary(m => m.Name, m => m.Value, StringComparer.Ordinal);
                var runValues = run1.RawMetadata.ToDictionary(m => m.Name, m => m.Value, StringComparer.Ordinal);
                var expectedNames = name == change.Component ? originalValues.Keys.Append("extra") : originalValues.Keys;
                Assert.Equal(expectedNames.Order(StringComparer.Ordinal), runValues.Keys.Order(StringComparer.Ordinal));
                foreach (var (field, value) in originalValues.Where(f => !RunFields.Contains(f.Key)))
                {
                    Assert.True(value == runValues[field], $"{name}: {field} changed from '{value}' to '{runValues[field]}'");
                }
            }

            // The run fields: data under the run's folder, the redis-server of the run, the run's gateway, the test's values.
            Assert.All(copy.Values.SelectMany(c => c.RawMetadata).Where(m => m.Name is "connectionString" or "rootPath"), m => Assert.StartsWith(run.DataPath + "/", m.Value!.StartsWith("file:", StringComparison.Ordinal) ? m.Value[5..] : m.Value, StringComparison.Ordinal));
            Assert.All(copy.Values.SelectMany(c => c.RawMetadata).Where(m => m.Name == "redisHost"), m => Assert.Equal("127.0.0.1:1234", m.Value));
            Assert.Equal("http://127.0.0.1:4321/dev/push-sink/webpush", Value(copy[DaprNames.Bindings.WebPush], "url"));
            Assert.Equal("http://127.0.0.1:1/fcm", Value(copy[DaprNames.Bindings.Fcm], "url"));
            Assert.Equal("a \"quoted\"\nvalue", Value(copy[DaprNames.Bindings.Fcm], "extra"));
            Assert.Equal(Value(repo[DaprNames.Bindings.BotWebhooks], "url"), Value(copy[DaprNames.Bindings.BotWebhooks], "url"));
            var secrets = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Value(copy[DaprNames.Secrets.Store], "secretsFile")!))!;
            Assert.Equal("s", secrets["added-secret"]);
            Assert.Equal(ChatRun.JwtKey, secrets[DaprNames.Secrets.JwtSigningKey]);
        }
        finally
        {
            run.Delete();
        }
    }

    [Fact]
    public void A_change_to_a_component_the_set_does_not_have_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            RunFolder.Create(ComponentSet.Embedded, null, "http://127.0.0.1:1", changes: [new ComponentChange("no-such-store") { Type = "state.in-memory" }]));
        Assert.Contains("no-such-store", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_change_is_read_like_the_repos_files_so_a_relative_path_is_a_file_of_the_run()
    {
        var run = RunFolder.Create(ComponentSet.Embedded, null, "http://127.0.0.1:1",
            changes: [new ComponentChange(DaprNames.StateStores.Messages) { Metadata = new Dictionary<string, string> { ["connectionString"] = "data/other.db" } }]);
        try
        {
            var store = ResourceLoader.Load([run.ComponentsPath]).Components.Single(c => c.Name == DaprNames.StateStores.Messages);
            Assert.Equal(Path.Combine(run.DataPath, "other.db"), Value(store, "connectionString"));
        }
        finally
        {
            run.Delete();
        }
    }

    [Fact]
    public async Task A_run_on_another_runs_components_shares_its_stores_and_leaves_its_folder()
    {
        await using var first = await ChatHarness.InProcessAsync(new() { Apps = [DaprNames.Apps.Directory] });
        var alice = await first.RegisterAsync();
        await using (var second = await ChatHarness.InProcessAsync(new() { ComponentsOf = first, Apps = [DaprNames.Apps.Directory] }))
        {
            Assert.Same(first.Folder, second.Folder);
            // The second run's directory reads the user the first one stored.
            var profile = await new DirectoryService.DirectoryServiceClient(second.InvokerFor(DaprNames.Apps.Directory, alice.AccessToken)).FindUserAsync(new FindUserRequest { UserName = alice.UserName });
            Assert.Equal(alice.UserId, profile.Profile.UserId);
        }

        Assert.True(System.IO.Directory.Exists(first.DataPath));
    }

    public static TheoryData<Hosting> Hostings => new() { Hosting.InProcess, Hosting.Processes };

    [Theory]
    [MemberData(nameof(Hostings))]
    public async Task The_same_test_runs_in_process_and_as_processes_on_the_redis_set(Hosting hosting)
    {
        await using var system = await ChatHarness.StartAsync(new()
        {
            Components = ComponentSet.Redis,
            Hosting = hosting,
            Apps = [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging],
        });
        Assert.IsType(hosting == Hosting.InProcess ? typeof(ChatSystem) : typeof(Reliability.AppProcesses), system);
        Assert.NotNull(system.Redis);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var sent = await alice.SendToPeerAsync(bob, "one harness");
        var history = await bob.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = sent.Message.ConversationId });
        Assert.Equal("one harness", Assert.Single(history.Messages).Content.Text);
    }

    private static string? Value(ComponentDefinition component, string field) =>
        component.RawMetadata.Single(m => m.Name == field).Value;
}
