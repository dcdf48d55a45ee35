using Chat.Domain;
using k8s.Models;

namespace Chat.Deploy.Tests;

/// <summary>
/// deploy/kubernetes loads with the official Kubernetes models and agrees with dapr.yaml, the
/// apps' code and <see cref="DaprUsage"/>; every rule is shown to catch a disagreement.
/// </summary>
[Trait("Area", "ScaleOut")]
public sealed class ManifestTests
{
    private static string Base => Path.Combine(Repo.Kubernetes, "base");

    private static string Small => Path.Combine(Repo.Kubernetes, "overlays", "small");

    [Fact]
    public void The_base_agrees_with_dapr_yaml_the_code_and_DaprUsage()
    {
        var set = ManifestSet.FromKustomization(Base);
        Assert.Empty(ManifestRules.Problems(set, RunFileApp.Load()));
        Assert.Equal(RunFileApp.Load().Count, set.Of<V1Deployment>().Count());
    }

    [Fact]
    public void The_base_deploys_exactly_the_production_component_set()
    {
        var production = Path.Combine(Repo.Root, "components", "production");
        var deployed = ManifestSet.FromKustomization(Base).Objects
            .Select(o => o.Source).Where(s => s.StartsWith("components", StringComparison.Ordinal)).Distinct().Order(StringComparer.Ordinal);
        var files = System.IO.Directory.GetFiles(production, "*.yaml").Select(f => Path.GetRelativePath(Repo.Root, f)).Order(StringComparer.Ordinal);
        Assert.Equal(files, deployed);
    }

    [Theory]
    [InlineData("base")]
    [InlineData("overlays/small")]
    public async Task Kubectl_kustomize_builds_it_and_the_result_keeps_every_rule(string kustomization)
    {
        var built = await ManifestSet.FromKubectlKustomizeAsync(Path.Combine(Repo.Kubernetes, kustomization));
        Assert.Empty(ManifestRules.Problems(built, RunFileApp.Load()));
        Assert.All(built.Objects, o => Assert.True(o.Object.Kind == "Namespace" || o.Object.Namespace() == "chat", $"{o.Object.Kind} {o.Object.Name()} is not in namespace chat"));

        // The same objects as the loader of the other tests finds (kind and name).
        var own = ManifestSet.FromKustomization(Base).Objects.Select(o => $"{o.Object.Kind}/{o.Object.Name()}").Order(StringComparer.Ordinal);
        Assert.Equal(own, built.Objects.Select(o => $"{o.Object.Kind}/{o.Object.Name()}").Order(StringComparer.Ordinal));
        if (kustomization != "base")
        {
            Assert.All(built.Of<V1Deployment>(), d => Assert.Equal(2, d.Spec.Replicas));
            Assert.All(built.Of<V2HorizontalPodAutoscaler>(), h => Assert.Equal(6, h.Spec.MaxReplicas));
        }
    }

    [Fact]
    public void Dapr_system_turns_mtls_on()
    {
        var set = ManifestSet.FromKustomization(Path.Combine(Repo.Kubernetes, "dapr-system"));
        var config = Assert.Single(set.DaprResources("Configuration"));
        Assert.Equal("daprsystem", config.Name());
        Assert.Equal("dapr-system", config.Namespace());
        var mtls = Assert.IsType<Dictionary<object, object>>(config.Spec!["mtls"]);
        Assert.Equal("true", mtls["enabled"]?.ToString(), ignoreCase: true);
    }

    [Fact]
    public void A_field_the_Kubernetes_model_does_not_have_fails_to_load()
    {
        var set = new ManifestSet();
        var error = Assert.ThrowsAny<Exception>(() => set.AddYaml("""
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: x
            spec:
              replica: 3
            """, "test"));
        Assert.Contains("replica", error.ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string> MutationNames => new(Mutations.Keys);

    /// <summary>Each rule fails on the manifests changed the way it guards against.</summary>
    [Theory]
    [MemberData(nameof(MutationNames))]
    public void A_disagreement_is_reported(string mutation)
    {
        var set = ManifestSet.FromKustomization(Base);
        var (change, expected) = Mutations[mutation];
        change(set);
        var problems = ManifestRules.Problems(set, RunFileApp.Load());
        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    private static readonly Dictionary<string, (Action<ManifestSet> Change, string Expected)> Mutations = new(StringComparer.Ordinal)
    {
        ["router app-port"] = (s => Pod(s, "router").Metadata.Annotations["dapr.io/app-port"] = "5199", "router: dapr.io/app-port is '5199'"),
        ["messaging app-protocol http"] = (s => Pod(s, "messaging").Metadata.Annotations["dapr.io/app-protocol"] = "http", "messaging: the code serves gRPC services but app-protocol is http"),
        ["gateway app-id"] = (s => Pod(s, "gateway").Metadata.Annotations["dapr.io/app-id"] = "gw", "gateway: 0 Deployments"),
        ["router app health check"] = (s => Pod(s, "router").Metadata.Annotations.Remove("dapr.io/app-health-check-path"), "router: dapr.yaml checks app health"),
        ["delivery config"] = (s => Pod(s, "delivery").Metadata.Annotations["dapr.io/config"] = "other", "delivery: dapr.io/config 'other'"),
        ["presence-store without router"] = (s => Component(s, DaprNames.StateStores.Presence).Scopes!.Remove(DaprNames.Apps.Router), "component presence-store: scopes leave out router"),
        ["actor-store unscoped"] = (s => Component(s, DaprNames.StateStores.Actors).Scopes!.Clear(), "component actor-store: has no scopes"),
        ["messages-store scoped to gateway"] = (s => Component(s, DaprNames.StateStores.Messages).Scopes!.Add(DaprNames.Apps.Gateway), "component messages-store: scope gateway does not use it"),
        ["inline redis password"] = (s => Component(s, DaprNames.StateStores.Presence).Spec.Metadata!.First(m => m.Name == "redisPassword").SecretKeyRef = null, "presence-store: redisPassword is inline"),
        ["inline app token"] = (s =>
        {
            var token = Env(s, "presence", "APP_API_TOKEN");
            token.ValueFrom = null;
            token.Value = "t0ken";
        }, "Deployment presence: APP_API_TOKEN is inline"),
        ["shared token secret"] = (s => Pod(s, "directory").Metadata.Annotations["dapr.io/app-token-secret"] = "directory-dapr-api-token", "directory: dapr.io/api-token-secret and dapr.io/app-token-secret"),
        ["no readiness probe"] = (s => Pod(s, "gateway").Spec.Containers[0].ReadinessProbe = null, "gateway: no HTTP readiness probe"),
        ["probe on the h2c port"] = (s => Pod(s, "presence").Spec.Containers[0].LivenessProbe.HttpGet.Port = "app", "presence: liveness probe on port 5103, which speaks HTTP/2 only"),
        ["bots health listener moved"] = (s => Env(s, "bots", "HEALTH_PORT").Value = "8082", "bots: liveness probe port health is not a port the app listens on"),
        ["gateway client port dropped"] = (s => Env(s, "gateway", "ASPNETCORE_URLS").Value = "http://+:5090", "gateway: dapr.yaml has it listen on 5080"),
        ["no memory limit"] = (s => Pod(s, "router").Spec.Containers[0].Resources.Limits.Remove("memory"), "container router needs cpu and memory requests and a memory limit"),
        ["no sidecar request"] = (s => Pod(s, "delivery").Metadata.Annotations.Remove("dapr.io/sidecar-cpu-request"), "delivery: dapr.io/sidecar-cpu-request is missing"),
        ["no router HPA"] = (s => s.Objects.RemoveAll(o => o.Object is V2HorizontalPodAutoscaler h && h.Name() == "router"), "router: no HorizontalPodAutoscaler"),
        ["no gateway PDB"] = (s => s.Objects.RemoveAll(o => o.Object is V1PodDisruptionBudget p && p.Name() == "gateway"), "Deployment gateway: no PodDisruptionBudget"),
        ["Service on the app port"] = (s => s.Of<V1Service>().Single().Spec.Ports[0].TargetPort = "app", "Service gateway: exposes gateway's Dapr app port 5090"),
        ["resiliency names an unknown actor"] = (s => s.AddYaml("""
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata:
              name: extra
            spec:
              targets:
                actors:
                  RoomActor: {}
            """, "test"), "Resiliency extra: targets.actors.RoomActor"),
        ["inlined Secret"] = (s => s.AddYaml("""
            apiVersion: v1
            kind: Secret
            metadata:
              name: router-app-api-token
            stringData:
              token: abc
            """, "test"), "Secret router-app-api-token: values are inlined"),
    };

    private static V1PodTemplateSpec Pod(ManifestSet set, string name) => set.Of<V1Deployment>().Single(d => d.Name() == name).Spec.Template;

    private static DaprComponent Component(ManifestSet set, string name) => set.Of<DaprComponent>().Single(c => c.Name() == name);

    private static V1EnvVar Env(ManifestSet set, string deployment, string name) => Pod(set, deployment).Spec.Containers[0].Env.Single(e => e.Name == name);
}
