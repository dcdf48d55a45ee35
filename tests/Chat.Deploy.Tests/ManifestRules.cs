using System.Text.RegularExpressions;
using Chat.Domain;
using Chat.ServiceDefaults;
using k8s.Models;

namespace Chat.Deploy.Tests;

/// <summary>
/// What a set of manifests must agree with: dapr.yaml (app-ids, app ports, protocols, app
/// health checks, client ports), each app's code (gRPC or HTTP, health paths), the table of
/// what each app uses of Dapr (<see cref="DaprUsage"/>: component scopes, actors), and the
/// operational rules (probes, requests and limits, tokens from Secrets, PDBs and HPAs).
/// Returns one line per disagreement, so a test can show them all and a mutation can be
/// shown to be caught.
/// </summary>
public static partial class ManifestRules
{
    private const string Dapr = "dapr.io/";

    /// <summary>The apps that scale with load and so have a HorizontalPodAutoscaler (issue 20).</summary>
    public static readonly string[] Autoscaled = [DaprNames.Apps.Gateway, DaprNames.Apps.Router];

    public static List<string> Problems(ManifestSet set, IReadOnlyList<RunFileApp> apps)
    {
        var problems = new List<string>();
        var deployments = set.Of<V1Deployment>().ToList();
        foreach (var app in apps)
        {
            var matching = deployments.Where(d => Annotation(d, "app-id") == app.AppId).ToList();
            if (matching.Count != 1)
            {
                problems.Add($"{app.AppId}: {matching.Count} Deployments carry dapr.io/app-id: {app.AppId} (want 1)");
                continue;
            }

            CheckApp(set, app, matching[0], problems);
        }

        foreach (var d in deployments.Where(d => Annotation(d, "enabled") == "true"))
        {
            if (!apps.Any(a => a.AppId == Annotation(d, "app-id")))
            {
                problems.Add($"Deployment {d.Name()}: app-id '{Annotation(d, "app-id")}' is not an app of dapr.yaml");
            }
        }

        CheckWorkloadObjects(set, deployments, problems);
        CheckComponents(set, deployments, problems);
        CheckResiliency(set, deployments, problems);
        CheckNoInlineSecrets(set, problems);
        return problems;
    }

    private static void CheckApp(ManifestSet set, RunFileApp app, V1Deployment d, List<string> problems)
    {
        var id = app.AppId;
        void Want(bool ok, string what)
        {
            if (!ok)
            {
                problems.Add($"{id}: {what}");
            }
        }

        var protocol = app.AppProtocol ?? "http";
        Want(Annotation(d, "enabled") == "true", "dapr.io/enabled is not \"true\"");
        Want(Annotation(d, "app-port") == app.AppPort.ToString(System.Globalization.CultureInfo.InvariantCulture), $"dapr.io/app-port is '{Annotation(d, "app-port")}', dapr.yaml says {app.AppPort}");
        Want(Annotation(d, "app-protocol") == protocol, $"dapr.io/app-protocol is '{Annotation(d, "app-protocol")}', dapr.yaml says {protocol}");
        var config = Annotation(d, "config");
        Want(config is not null && set.DaprResources("Configuration").Any(c => c.Name() == config), $"dapr.io/config '{config}' names no Configuration of the set");
        if (app.AppHealthCheckPath is { } healthPath)
        {
            Want(Annotation(d, "enable-app-health-check") == "true" && Annotation(d, "app-health-check-path") == healthPath,
                $"dapr.yaml checks app health at {healthPath}: dapr.io/enable-app-health-check and app-health-check-path must say so");
        }

        foreach (var sidecar in new[] { "sidecar-cpu-request", "sidecar-memory-request", "sidecar-memory-limit" })
        {
            Want(!string.IsNullOrEmpty(Annotation(d, sidecar)), $"dapr.io/{sidecar} is missing");
        }

        // The code decides the protocol: gRPC services need grpc, the .NET actor runtime and pub/sub handlers http.
        var source = AppSource(app);
        var servesGrpc = source.Contains("MapGrpcService<", StringComparison.Ordinal);
        var annotated = Annotation(d, "app-protocol");
        Want(servesGrpc == (annotated == "grpc"), $"the code {(servesGrpc ? "serves gRPC services" : "serves no gRPC service")} but app-protocol is {annotated}");

        // Tokens: both from Secrets, the ones the annotations name (the injector gives them to daprd).
        var apiSecret = Annotation(d, "api-token-secret");
        var appSecret = Annotation(d, "app-token-secret");
        Want(!string.IsNullOrEmpty(apiSecret) && !string.IsNullOrEmpty(appSecret) && apiSecret != appSecret,
            "dapr.io/api-token-secret and dapr.io/app-token-secret must name two different Secrets");
        var container = d.Spec.Template.Spec.Containers.FirstOrDefault();
        if (container is null)
        {
            problems.Add($"{id}: the pod has no container");
            return;
        }

        Want(SecretRef(container, "APP_API_TOKEN") == (appSecret, "token"), $"APP_API_TOKEN must come from Secret {appSecret} key token");
        Want(SecretRef(container, "DAPR_API_TOKEN") == (apiSecret, "token"), $"DAPR_API_TOKEN must come from Secret {apiSecret} key token");
        Want(EnvValue(container, "APP_PORT") == app.AppPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "APP_PORT must be the app port (the app tells its sidecar's calls from clients' by it)");

        // Ports: the app port and every port dapr.yaml has the app listen on (the gateway's client port).
        var listening = Listeners(container);
        var appPortServed = listening.ContainsKey(app.AppPort) || ListensOnAppPortInCode().IsMatch(source);
        Want(appPortServed, $"nothing listens on the app port {app.AppPort}");
        Want(container.Ports?.Any(p => p.ContainerPort == app.AppPort) == true, $"no containerPort {app.AppPort}");
        if (app.Env.TryGetValue("ASPNETCORE_URLS", out var runUrls))
        {
            foreach (var port in UrlPorts(runUrls))
            {
                Want(listening.ContainsKey(port) || (port == app.AppPort && appPortServed), $"dapr.yaml has it listen on {port}, the Deployment does not");
            }
        }

        CheckProbe(id, container, container.ReadinessProbe, "readiness", ServiceDefaultsExtensions.ReadinessPath, listening, problems);
        CheckProbe(id, container, container.LivenessProbe, "liveness", ServiceDefaultsExtensions.LivenessPath, listening, problems);
    }

    private static void CheckProbe(string id, V1Container container, V1Probe? probe, string kind, string path, Dictionary<int, string> listening, List<string> problems)
    {
        if (probe?.HttpGet is not { } get)
        {
            problems.Add($"{id}: no HTTP {kind} probe");
            return;
        }

        if (get.Path != path)
        {
            problems.Add($"{id}: {kind} probe path {get.Path}, the app serves {path}");
        }

        var port = ContainerPort(container, get.Port?.Value);
        if (port is null || !listening.TryGetValue(port.Value, out var protocols))
        {
            problems.Add($"{id}: {kind} probe port {get.Port?.Value} is not a port the app listens on");
        }
        else if (protocols == "Http2")
        {
            // kubelet probes speak HTTP/1.1.
            problems.Add($"{id}: {kind} probe on port {port}, which speaks HTTP/2 only");
        }
    }

    private static void CheckWorkloadObjects(ManifestSet set, List<V1Deployment> deployments, List<string> problems)
    {
        foreach (var d in deployments)
        {
            var labels = d.Spec.Template.Metadata.Labels ?? new Dictionary<string, string>();
            if (!Selects(d.Spec.Selector.MatchLabels, labels))
            {
                problems.Add($"Deployment {d.Name()}: its selector does not match its pod labels");
            }

            var pod = d.Spec.Template.Spec;
            if (pod.SecurityContext?.RunAsNonRoot != true)
            {
                problems.Add($"Deployment {d.Name()}: pods must run as non-root");
            }

            foreach (var c in pod.Containers)
            {
                var requests = c.Resources?.Requests;
                if (requests is null || !requests.ContainsKey("cpu") || !requests.ContainsKey("memory") || c.Resources?.Limits?.ContainsKey("memory") != true)
                {
                    problems.Add($"Deployment {d.Name()}: container {c.Name} needs cpu and memory requests and a memory limit");
                }

                if (c.SecurityContext?.AllowPrivilegeEscalation != false)
                {
                    problems.Add($"Deployment {d.Name()}: container {c.Name} must set allowPrivilegeEscalation: false");
                }
            }

            if (!set.Of<V1PodDisruptionBudget>().Any(p => Selects(p.Spec.Selector.MatchLabels, labels)))
            {
                problems.Add($"Deployment {d.Name()}: no PodDisruptionBudget selects its pods");
            }
        }

        foreach (var app in Autoscaled)
        {
            if (!set.Of<V2HorizontalPodAutoscaler>().Any(h => deployments.Any(d => d.Name() == h.Spec.ScaleTargetRef.Name && Annotation(d, "app-id") == app)))
            {
                problems.Add($"{app}: no HorizontalPodAutoscaler scales it");
            }
        }

        foreach (var h in set.Of<V2HorizontalPodAutoscaler>())
        {
            if (!deployments.Any(d => d.Name() == h.Spec.ScaleTargetRef.Name) || h.Spec.MinReplicas is not { } min || min < 2 || min > h.Spec.MaxReplicas)
            {
                problems.Add($"HorizontalPodAutoscaler {h.Name()}: must target a Deployment of the set, with 2 ≤ minReplicas ≤ maxReplicas");
            }
        }

        foreach (var s in set.Of<V1Service>())
        {
            var pods = deployments.Where(d => Selects(s.Spec.Selector, d.Spec.Template.Metadata.Labels ?? new Dictionary<string, string>())).ToList();
            if (pods.Count == 0)
            {
                problems.Add($"Service {s.Name()}: selects no Deployment's pods");
            }

            foreach (var d in pods)
            {
                foreach (var port in s.Spec.Ports)
                {
                    var target = ContainerPort(d.Spec.Template.Spec.Containers[0], port.TargetPort?.Value ?? port.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    if (target is null)
                    {
                        problems.Add($"Service {s.Name()}: target port {port.TargetPort?.Value} is no port of {d.Name()}");
                    }
                    else if (target.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) == Annotation(d, "app-port"))
                    {
                        problems.Add($"Service {s.Name()}: exposes {d.Name()}'s Dapr app port {target}, which is for its sidecar only");
                    }
                }
            }
        }
    }

    private static void CheckComponents(ManifestSet set, List<V1Deployment> deployments, List<string> problems)
    {
        var components = set.Of<DaprComponent>().ToList();
        var appIds = deployments.Select(d => Annotation(d, "app-id")).OfType<string>().ToHashSet(StringComparer.Ordinal);
        foreach (var usage in DaprUsage.Apps)
        {
            foreach (var name in usage.Components)
            {
                var component = components.FirstOrDefault(c => c.Name() == name);
                if (component is null)
                {
                    problems.Add($"{usage.AppId}: uses component {name}, which the set does not have");
                }
                else if (component.Scopes is { Count: > 0 } scopes && !scopes.Contains(usage.AppId))
                {
                    problems.Add($"component {name}: scopes leave out {usage.AppId}, which uses it");
                }
            }
        }

        foreach (var c in components)
        {
            // Unscoped means every app's sidecar loads it: only for the secret store, which every
            // sidecar needs to resolve the secretKeyRefs of its other components.
            if (c.Scopes is not { Count: > 0 } && c.Name() != DaprNames.Secrets.Store)
            {
                problems.Add($"component {c.Name()}: has no scopes, so every app may use it (least privilege)");
            }

            foreach (var scoped in c.Scopes ?? [])
            {
                if (DaprUsage.Of(scoped)?.Components.Contains(c.Name()) != true)
                {
                    problems.Add($"component {c.Name()}: scope {scoped} does not use it (least privilege)");
                }

                if (!appIds.Contains(scoped))
                {
                    problems.Add($"component {c.Name()}: scope {scoped} is no Deployment's app-id");
                }
            }

            foreach (var item in c.Spec.Metadata ?? [])
            {
                if (item.SecretKeyRef is not null && c.Auth?.SecretStore != DaprNames.Secrets.Store)
                {
                    problems.Add($"component {c.Name()}: secretKeyRef needs auth.secretStore: {DaprNames.Secrets.Store}");
                }

                if (SecretLike().IsMatch(item.Name) && item.SecretKeyRef is null)
                {
                    problems.Add($"component {c.Name()}: {item.Name} is inline; reference a Secret (secretKeyRef)");
                }
            }
        }
    }

    private static void CheckResiliency(ManifestSet set, List<V1Deployment> deployments, List<string> problems)
    {
        var appIds = deployments.Select(d => Annotation(d, "app-id")).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var actorTypes = DaprUsage.Apps.SelectMany(a => a.HostsActors).ToHashSet(StringComparer.Ordinal);
        var componentNames = set.Of<DaprComponent>().Select(c => c.Name()).ToHashSet(StringComparer.Ordinal);
        var resiliencies = set.DaprResources("Resiliency").ToList();
        if (resiliencies.Count == 0)
        {
            problems.Add("no Resiliency spec");
        }

        foreach (var r in resiliencies)
        {
            var targets = Map(Map(r.Spec, "targets"), null);
            foreach (var (group, known) in new[] { ("apps", appIds), ("actors", actorTypes), ("components", componentNames) })
            {
                foreach (var key in Map(targets, group)?.Keys ?? Enumerable.Empty<string>())
                {
                    if (!known.Contains(key))
                    {
                        problems.Add($"Resiliency {r.Name()}: targets.{group}.{key} is not one of {string.Join(", ", known.Order(StringComparer.Ordinal))}");
                    }
                }
            }
        }
    }

    private static void CheckNoInlineSecrets(ManifestSet set, List<string> problems)
    {
        foreach (var s in set.Of<V1Secret>())
        {
            if (s.Data?.Count > 0 || s.StringData?.Count > 0)
            {
                problems.Add($"Secret {s.Name()}: values are inlined in the manifests; create Secrets out of band (deploy/kubernetes/README.md)");
            }
        }

        foreach (var d in set.Of<V1Deployment>())
        {
            foreach (var env in d.Spec.Template.Spec.Containers.SelectMany(c => c.Env ?? []))
            {
                if (SecretLike().IsMatch(env.Name) && env.Value is not null)
                {
                    problems.Add($"Deployment {d.Name()}: {env.Name} is inline; take it from a Secret (valueFrom.secretKeyRef)");
                }
            }
        }
    }

    /// <summary>
    /// The ports the app listens on and their protocols, from its environment: as Kestrel reads
    /// it, and the Node.js bots app's HTTP/1.1 health port (HEALTH_PORT, services/chat-bots/src/health.ts).
    /// </summary>
    public static Dictionary<int, string> Listeners(V1Container container)
    {
        var result = new Dictionary<int, string>();
        if (int.TryParse(EnvValue(container, "HEALTH_PORT"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var healthPort))
        {
            result[healthPort] = "Http1";
        }

        var endpoints = (container.Env ?? []).Where(e => e.Name.StartsWith("Kestrel__Endpoints__", StringComparison.Ordinal) && e.Name.EndsWith("__Url", StringComparison.Ordinal)).ToList();
        if (endpoints.Count > 0)
        {
            // Kestrel:Endpoints replaces ASPNETCORE_URLS.
            foreach (var e in endpoints)
            {
                var prefix = e.Name[..^"__Url".Length];
                foreach (var port in UrlPorts(e.Value ?? ""))
                {
                    result[port] = EnvValue(container, prefix + "__Protocols") ?? EnvValue(container, "Kestrel__EndpointDefaults__Protocols") ?? "Http1AndHttp2";
                }
            }

            return result;
        }

        foreach (var port in UrlPorts(EnvValue(container, "ASPNETCORE_URLS") ?? ""))
        {
            result[port] = EnvValue(container, "Kestrel__EndpointDefaults__Protocols") ?? "Http1AndHttp2";
        }

        return result;
    }

    public static string? Annotation(V1Deployment d, string name) =>
        d.Spec.Template.Metadata.Annotations?.TryGetValue(Dapr + name, out var value) == true ? value : null;

    private static string? EnvValue(V1Container c, string name) => c.Env?.FirstOrDefault(e => e.Name == name)?.Value;

    private static (string?, string?) SecretRef(V1Container c, string name) =>
        c.Env?.FirstOrDefault(e => e.Name == name)?.ValueFrom?.SecretKeyRef is { } r ? (r.Name, r.Key) : (null, null);

    private static int? ContainerPort(V1Container c, string? port) =>
        int.TryParse(port, out var number) ? number : c.Ports?.FirstOrDefault(p => p.Name == port)?.ContainerPort;

    private static IEnumerable<int> UrlPorts(string urls) =>
        urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => int.Parse(u[(u.LastIndexOf(':') + 1)..].TrimEnd('/'), System.Globalization.CultureInfo.InvariantCulture));

    private static bool Selects(IDictionary<string, string>? selector, IDictionary<string, string> labels) =>
        selector is { Count: > 0 } && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);

    private static Dictionary<string, object>? Map(object? node, string? key)
    {
        var map = node as IDictionary<object, object> is { } om ? om.ToDictionary(kv => kv.Key.ToString()!, kv => kv.Value) : node as Dictionary<string, object>;
        return key is null ? map : map is not null && map.TryGetValue(key, out var child) ? Map(child, null) : null;
    }

    private static string AppSource(RunFileApp app)
    {
        var folder = Path.GetFullPath(Path.Combine(Repo.Root, app.AppDirPath));
        // C# apps, and the Node.js app's TypeScript (its own sources, not packages or generated code).
        return string.Join('\n', System.IO.Directory.GetFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Concat(System.IO.Directory.GetFiles(folder, "*.ts", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal)
                && !f.Contains("/node_modules/", StringComparison.Ordinal) && !f.Contains("/dist/", StringComparison.Ordinal) && !f.Contains("/gen/", StringComparison.Ordinal))
            .Select(File.ReadAllText));
    }

    // The Dapr JS SDK's DaprServer { serverPort: String(config.appPort) } (the bots app), or Kestrel's Listen*(appPort) in C#.
    [GeneratedRegex(@"Listen\w*\(\s*appPort\b|serverPort:\s*String\(\s*config\.appPort\b")]
    private static partial Regex ListensOnAppPortInCode();

    [GeneratedRegex("(?i)(password|secret|token|private-?key|username)")]
    private static partial Regex SecretLike();
}
