using SidecarApiException = Dapr.DevSidecar.Api.DaprApiException;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.State;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dapr.DevSidecar.Tests;

/// <summary>Bad component files stop start-up with a message naming the file, the field and the reason.</summary>
[Trait("Area", "DevSidecar")]
public sealed class BadComponentTests
{
    private static async Task<ComponentLoadException> StartFails(string fileName, string yaml, params (string File, string Yaml)[] others)
    {
        await using var host = new SidecarTestHost().WithComponent(fileName, yaml);
        foreach (var (file, content) in others)
        {
            host.WithComponent(file, content);
        }

        var ex = await Assert.ThrowsAsync<ComponentLoadException>(() => host.StartSidecarAsync("app"));
        Assert.EndsWith(fileName, ex.File, StringComparison.Ordinal);
        Assert.Contains(fileName, ex.Message, StringComparison.Ordinal);
        return ex;
    }

    [Fact]
    public async Task Malformed_yaml_names_the_file_and_line()
    {
        var ex = await StartFails("broken.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: [unclosed\n");
        Assert.StartsWith("line ", ex.Field, StringComparison.Ordinal);
        Assert.Contains("not valid YAML", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_spec_type_names_the_field()
    {
        var ex = await StartFails("notype.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: store
            spec:
              version: v1
            """);
        Assert.Equal("spec.type", ex.Field);
        Assert.Contains("store", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unsupported_type_lists_the_supported_ones()
    {
        var ex = await StartFails("mongodb.yaml", SidecarTestHost.Component("messages", "state.mongodb", ("host", "127.0.0.1")));
        Assert.Equal("spec.type", ex.Field);
        Assert.Contains("state.mongodb", ex.Reason, StringComparison.Ordinal);
        Assert.Contains("state.sqlite", ex.Reason, StringComparison.Ordinal);
        Assert.Contains("state.redis", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task State_cassandra_without_its_sqlite_file_says_it_is_an_emulation()
    {
        var ex = await StartFails("cassandra.yaml", SidecarTestHost.Component("messages", "state.cassandra", ("hosts", "127.0.0.1")));
        Assert.Equal("spec.metadata[devSidecarConnectionString]", ex.Field);
        Assert.Contains("emulated", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secret_key_ref_to_a_missing_secret_names_the_entry()
    {
        var secrets = Path.Combine(Path.GetTempPath(), $"devsidecar-secrets-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(secrets, """{"present":"yes"}""");
        try
        {
            var ex = await StartFails("state.yaml", """
                apiVersion: dapr.io/v1alpha1
                kind: Component
                metadata:
                  name: store
                spec:
                  type: state.redis
                  version: v1
                  metadata:
                    - name: redisPassword
                      secretKeyRef:
                        name: absent
                auth:
                  secretStore: local
                """, ("secrets.yaml", SidecarTestHost.Component("local", "secretstores.local.file", ("secretsFile", secrets))));
            Assert.Equal("spec.metadata[redisPassword].secretKeyRef", ex.Field);
            Assert.Contains("'absent'", ex.Reason, StringComparison.Ordinal);
            Assert.Contains("local", ex.Reason, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(secrets);
        }
    }

    [Fact]
    public async Task Missing_required_metadata_names_it()
    {
        var ex = await StartFails("sqlite.yaml", SidecarTestHost.Component("store", "state.sqlite", ("tableName", "t")));
        Assert.Equal("spec.metadata[connectionString]", ex.Field);

        var bad = await StartFails("sqlite2.yaml", SidecarTestHost.Component("store2", "state.sqlite", ("connectionString", "x.db"), ("busyTimeout", "soon")));
        Assert.Equal("spec.metadata[busyTimeout]", bad.Field);
        Assert.Contains("'soon'", bad.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Actor_state_store_must_support_etags_and_transactions()
    {
        var def = new ComponentDefinition
        {
            Name = "weak",
            Type = "state.weak",
            SourceFile = "components/weak.yaml",
            Metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["actorStateStore"] = "true" },
        };
        var ex = Assert.Throws<ComponentLoadException>(() => ComponentTypes.ValidateCapabilities(def, new MinimalStore(StateStoreFeatures.Ttl)));
        Assert.Equal("components/weak.yaml", ex.File);
        Assert.Equal("spec.metadata[actorStateStore]", ex.Field);
        Assert.Contains("ETag", ex.Reason, StringComparison.Ordinal);
        Assert.Contains("Transactional", ex.Reason, StringComparison.Ordinal);

        // The same store is fine when it is not the actor state store, and a full store is fine as one.
        def.Metadata = new Dictionary<string, string>();
        ComponentTypes.ValidateCapabilities(def, new MinimalStore(StateStoreFeatures.Ttl));
        def.Metadata = new Dictionary<string, string> { ["actorStateStore"] = "true" };
        ComponentTypes.ValidateCapabilities(def, new MinimalStore(StateStoreFeatures.ETag | StateStoreFeatures.Transactional));
    }

    [Fact]
    public async Task Transactions_are_refused_clearly_on_a_store_without_them()
    {
        var def = new ComponentDefinition { Name = "plain", Type = "state.plain", SourceFile = "plain.yaml" };
        await using var runtime = new ComponentRuntime(NullLoggerFactory.Instance, TimeProvider.System);
        var store = new MinimalStore(StateStoreFeatures.None);
        var sidecar = new SidecarContext(new SidecarOptions { AppId = "app" }, new AppComponents("app", [new ComponentInstance(def, store)]), runtime);
        var api = new StateApi(sidecar);

        var ex = await Assert.ThrowsAsync<SidecarApiException>(() => api.TransactAsync("plain",
            [("upsert", new StateApi.Item("k", "1"u8.ToArray(), null, StateConcurrency.LastWrite, new Dictionary<string, string>()))], CancellationToken.None));
        Assert.Equal("ERR_STATE_STORE_NOT_SUPPORTED", ex.ErrorCode);
        Assert.Equal(StatusCode.Unimplemented, ex.GrpcStatus);
        Assert.Contains("plain", ex.Message, StringComparison.Ordinal);
        Assert.Contains("transaction", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, store.Writes);

        var etag = await Assert.ThrowsAsync<SidecarApiException>(() => api.SaveAsync("plain",
            [new StateApi.Item("k", "1"u8.ToArray(), "1", StateConcurrency.LastWrite, new Dictionary<string, string>())], CancellationToken.None));
        Assert.Contains("ETag", etag.Message, StringComparison.Ordinal);
        var ttl = await Assert.ThrowsAsync<SidecarApiException>(() => api.SaveAsync("plain",
            [new StateApi.Item("k", "1"u8.ToArray(), null, StateConcurrency.LastWrite, new Dictionary<string, string> { ["ttlInSeconds"] = "5" })], CancellationToken.None));
        Assert.Contains("ttlInSeconds", ttl.Message, StringComparison.Ordinal);
        Assert.Equal(0, store.Writes);
    }

    /// <summary>A store with only the features given, recording writes; used where no real store lacks a feature.</summary>
    private sealed class MinimalStore(StateStoreFeatures features) : IStateStore
    {
        public int Writes { get; private set; }

        public StateStoreFeatures Features => features;

        public Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken) => Task.FromResult<StateEntry?>(null);

        public Task<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, StateEntry>>(new Dictionary<string, StateEntry>());

        public Task SetAsync(StateUpsert operation, CancellationToken cancellationToken)
        {
            Writes++;
            return Task.CompletedTask;
        }

        public Task DeleteAsync(StateDelete operation, CancellationToken cancellationToken)
        {
            Writes++;
            return Task.CompletedTask;
        }

        public Task ExecuteTransactionAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken)
        {
            Writes += operations.Count;
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
