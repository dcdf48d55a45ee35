using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapr.Client;
using Grpc.Core;

namespace Dapr.DevSidecar.Tests;

/// <summary>Secrets (file and env stores, secretKeyRef), metadata, shutdown and the API token, as daprd serves them.</summary>
[Trait("Area", "DevSidecar")]
public sealed class SecretsMetadataAndTokenTests
{
    private const string SecretsJson = """
        {
          "db": { "password": "s3cret", "hosts": ["h0", "h1"] },
          "plain": "value",
          "number": 42
        }
        """;

    private static SidecarTestHost HostWithSecrets(params (string Key, string Value)[] extra)
    {
        var host = new SidecarTestHost();
        var file = Path.Combine(host.ResourcesPath, "secrets.json");
        File.WriteAllText(file, SecretsJson);
        return host.WithComponent("secrets.yaml", SidecarTestHost.Component("local", "secretstores.local.file", [("secretsFile", file), .. extra]));
    }

    [Fact]
    public async Task File_secrets_are_flattened_with_the_nested_separator()
    {
        await using var host = HostWithSecrets();
        var dapr = host.ClientFor(await host.StartSidecarAsync("app"));

        Assert.Equal(new Dictionary<string, string> { ["db:password"] = "s3cret" }, await dapr.GetSecretAsync("local", "db:password"));
        Assert.Equal("h1", (await dapr.GetSecretAsync("local", "db:hosts:1"))["db:hosts:1"]);
        Assert.Equal("42", (await dapr.GetSecretAsync("local", "number"))["number"]);

        var bulk = await dapr.GetBulkSecretAsync("local");
        Assert.Equal(["db:hosts:0", "db:hosts:1", "db:password", "number", "plain"], bulk.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("value", bulk["plain"]["plain"]);
    }

    [Fact]
    public async Task Multi_valued_file_secrets_keep_their_keys_together()
    {
        await using var host = HostWithSecrets(("multiValued", "true"), ("nestedSeparator", "."));
        var dapr = host.ClientFor(await host.StartSidecarAsync("app"));
        var db = await dapr.GetSecretAsync("local", "db");
        Assert.Equal("s3cret", db["password"]);
        Assert.Equal("h0", db["hosts.0"]);
    }

    [Fact]
    public async Task Env_secrets_use_the_prefix_and_hide_dapr_variables()
    {
        var name = $"DEVSIDECAR_TEST_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(name, "from-env");
        Environment.SetEnvironmentVariable("DAPR_DEVSIDECAR_HIDDEN", "hidden");
        try
        {
            await using var host = new SidecarTestHost()
                .WithComponent("env.yaml", SidecarTestHost.Component("env", "secretstores.local.env", ("prefix", "DEVSIDECAR_TEST_")));
            var dapr = host.ClientFor(await host.StartSidecarAsync("app"));
            var shortName = name["DEVSIDECAR_TEST_".Length..];
            Assert.Equal("from-env", (await dapr.GetSecretAsync("env", shortName))[shortName]);
            Assert.Contains(shortName, (await dapr.GetBulkSecretAsync("env")).Keys);

            await using var plainHost = new SidecarTestHost().WithComponent("env.yaml", SidecarTestHost.Component("env", "secretstores.local.env"));
            var plain = plainHost.ClientFor(await plainHost.StartSidecarAsync("app"));
            Assert.Equal("", (await plain.GetSecretAsync("env", "DAPR_DEVSIDECAR_HIDDEN"))["DAPR_DEVSIDECAR_HIDDEN"]);
            Assert.DoesNotContain("DAPR_DEVSIDECAR_HIDDEN", (await plain.GetBulkSecretAsync("env")).Keys);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
            Environment.SetEnvironmentVariable("DAPR_DEVSIDECAR_HIDDEN", null);
        }
    }

    [Fact]
    public async Task Secret_errors_are_daprds_over_grpc_and_http()
    {
        await using var host = HostWithSecrets();
        var sidecar = await host.StartSidecarAsync("app");
        var dapr = host.ClientFor(sidecar);
        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };

        var unknownStore = await Assert.ThrowsAsync<DaprException>(() => dapr.GetSecretAsync("nope", "plain"));
        Assert.Equal(StatusCode.InvalidArgument, Assert.IsType<RpcException>(unknownStore.InnerException).StatusCode);
        var missing = await Assert.ThrowsAsync<DaprException>(() => dapr.GetSecretAsync("local", "missing"));
        Assert.Equal(StatusCode.Internal, Assert.IsType<RpcException>(missing.InnerException).StatusCode);

        var ok = await http.GetFromJsonAsync<Dictionary<string, string>>("/v1.0/secrets/local/plain");
        Assert.Equal("value", ok!["plain"]);
        var bulk = await http.GetFromJsonAsync<Dictionary<string, Dictionary<string, string>>>("/v1.0/secrets/local/bulk");
        Assert.Equal("s3cret", bulk!["db:password"]["db:password"]);

        var notFound = await http.GetAsync("/v1.0/secrets/nope/plain");
        Assert.Equal(HttpStatusCode.Unauthorized, notFound.StatusCode);
        Assert.Equal("ERR_SECRET_STORE_NOT_FOUND", await ErrorCode(notFound));
        var missingHttp = await http.GetAsync("/v1.0/secrets/local/missing");
        Assert.Equal(HttpStatusCode.InternalServerError, missingHttp.StatusCode);
        Assert.Equal("ERR_SECRET_GET", await ErrorCode(missingHttp));

        await using var none = new SidecarTestHost().WithComponent("s.yaml", SidecarTestHost.Component("store", "state.in-memory"));
        var noneSidecar = await none.StartSidecarAsync("app");
        using var noneHttp = new HttpClient { BaseAddress = new Uri(noneSidecar.HttpEndpoint) };
        var notConfigured = await noneHttp.GetAsync("/v1.0/secrets/local/plain");
        Assert.Equal(HttpStatusCode.InternalServerError, notConfigured.StatusCode);
        Assert.Equal("ERR_SECRET_STORES_NOT_CONFIGURED", await ErrorCode(notConfigured));
    }

    [Fact]
    public async Task Components_resolve_metadata_through_secret_key_ref()
    {
        await using var host = new SidecarTestHost();
        var dbPath = Path.Combine(host.ResourcesPath, "from-secret", "state.db");
        File.WriteAllText(Path.Combine(host.ResourcesPath, "secrets.json"), JsonSerializer.Serialize(new { sqlite = new { path = dbPath } }));
        host.WithComponent("secrets.yaml", SidecarTestHost.Component("local", "secretstores.local.file", ("secretsFile", Path.Combine(host.ResourcesPath, "secrets.json"))));
        host.WithComponent("state.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: store
            spec:
              type: state.sqlite
              version: v1
              metadata:
                - name: connectionString
                  secretKeyRef:
                    name: sqlite:path
                    key: sqlite:path
            auth:
              secretStore: local
            """);
        var dapr = host.ClientFor(await host.StartSidecarAsync("app"));
        await dapr.SaveStateAsync("store", "k", "v");
        Assert.True(File.Exists(dbPath), "the SQLite file named by the secret was not created");
        Assert.Equal("v", await dapr.GetStateAsync<string>("store", "k"));
    }

    [Fact]
    public async Task Metadata_lists_the_app_and_its_components_with_capabilities()
    {
        await using var host = HostWithSecrets();
        host.WithComponent("actors.yaml", SidecarTestHost.Component("actor-store", "state.sqlite",
            ("connectionString", Path.Combine(host.ResourcesPath, "a.db")), ("actorStateStore", "true")));
        host.WithComponent("mem.yaml", SidecarTestHost.Component("mem", "state.in-memory"));
        var sidecar = await host.StartSidecarAsync("meta-app", appPort: 5999);
        var dapr = host.ClientFor(sidecar);

        var metadata = await dapr.GetMetadataAsync();
        Assert.Equal("meta-app", metadata.Id);
        var components = metadata.Components.ToDictionary(c => c.Name);
        Assert.Equal("state.sqlite", components["actor-store"].Type);
        Assert.Equal("v1", components["actor-store"].Version);
        Assert.Equal(["ETAG", "TRANSACTIONAL", "TTL", "ACTOR"], components["actor-store"].Capabilities);
        Assert.Equal(["ETAG", "TRANSACTIONAL", "TTL"], components["mem"].Capabilities);
        Assert.Equal("secretstores.local.file", components["local"].Type);
        Assert.Empty(components["local"].Capabilities);

        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };
        var json = await http.GetFromJsonAsync<JsonElement>("/v1.0/metadata");
        Assert.Equal("meta-app", json.GetProperty("id").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("runtimeVersion").GetString()));
        var httpComponents = json.GetProperty("components").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal(["ETAG", "TRANSACTIONAL", "TTL", "ACTOR"], httpComponents["actor-store"].GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(5999, json.GetProperty("appConnectionProperties").GetProperty("port").GetInt32());
        Assert.Equal("http", json.GetProperty("appConnectionProperties").GetProperty("protocol").GetString());
    }

    [Fact]
    public async Task Shutdown_over_grpc_and_http_cancels_the_sidecar()
    {
        await using var host = new SidecarTestHost().WithComponent("s.yaml", SidecarTestHost.Component("store", "state.in-memory"));
        var viaGrpc = await host.StartSidecarAsync("one");
        var viaHttp = await host.StartSidecarAsync("two");
        Assert.False(viaGrpc.Context.ShutdownRequested.IsCancellationRequested);

        await host.ClientFor(viaGrpc).ShutdownSidecarAsync();
        await viaGrpc.ShutdownRequested.WaitAsync(TimeSpan.FromSeconds(5));

        using var http = new HttpClient { BaseAddress = new Uri(viaHttp.HttpEndpoint) };
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync("/v1.0/shutdown", null)).StatusCode);
        await viaHttp.ShutdownRequested.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Api_token_is_required_on_grpc_and_http_but_not_healthz()
    {
        await using var host = new SidecarTestHost().WithComponent("s.yaml", SidecarTestHost.Component("store", "state.in-memory"));
        var sidecar = await host.StartSidecarAsync("app", apiToken: "right-token");

        foreach (var token in new string?[] { null, "wrong-token" })
        {
            var ex = await Assert.ThrowsAsync<DaprException>(() => host.ClientFor(sidecar, token).GetStateAsync<string>("store", "k"));
            Assert.Equal(StatusCode.Unauthenticated, Assert.IsType<RpcException>(ex.InnerException).StatusCode);

            using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };
            if (token is not null)
            {
                http.DefaultRequestHeaders.Add("dapr-api-token", token);
            }

            var response = await http.GetAsync("/v1.0/state/store/k");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("ERR_UNAUTHORIZED", await ErrorCode(response));
            Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/healthz")).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/healthz/outbound")).StatusCode);
        }

        var good = host.ClientFor(sidecar, "right-token");
        await good.SaveStateAsync("store", "k", "v");
        Assert.Equal("v", await good.GetStateAsync<string>("store", "k"));
        using var authorized = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };
        authorized.DefaultRequestHeaders.Add("dapr-api-token", "right-token");
        Assert.Equal("\"v\"", await authorized.GetStringAsync("/v1.0/state/store/k"));
    }

    private static async Task<string?> ErrorCode(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errorCode").GetString();
}
