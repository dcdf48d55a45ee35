using System.Diagnostics;
using k8s;
using k8s.Models;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Chat.Deploy.Tests;

/// <summary>
/// The Kubernetes objects of one kustomization, loaded with the official KubernetesClient models
/// (strict: a field the model does not have is an error, as kubectl's schema check would say).
/// </summary>
public sealed class ManifestSet
{
    /// <summary>The Dapr kinds next to the built-in ones (KubernetesClient knows only those).</summary>
    private static readonly Dictionary<string, Type> DaprKinds = new(StringComparer.Ordinal)
    {
        ["dapr.io/v1alpha1/Component"] = typeof(DaprComponent),
        ["dapr.io/v1alpha1/Configuration"] = typeof(DaprSpecResource),
        ["dapr.io/v1alpha1/Resiliency"] = typeof(DaprSpecResource),
    };

    private static readonly IDeserializer KustomizationReader = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .IgnoreUnmatchedProperties()
        .Build();

    public List<(IKubernetesObject<V1ObjectMeta> Object, string Source)> Objects { get; } = [];

    public IEnumerable<T> Of<T>() => Objects.Select(o => o.Object).OfType<T>();

    public IEnumerable<DaprSpecResource> DaprResources(string kind) => Of<DaprSpecResource>().Where(r => r.Kind == kind);

    /// <summary>Loads a kustomization by following its <c>resources</c> (files, and folders with a kustomization of their own).</summary>
    public static ManifestSet FromKustomization(string folder)
    {
        var set = new ManifestSet();
        set.AddKustomization(Path.GetFullPath(folder));
        return set;
    }

    /// <summary>Loads <c>kubectl kustomize</c>'s output for <paramref name="folder"/>: what <c>kubectl apply -k</c> would send.</summary>
    public static async Task<ManifestSet> FromKubectlKustomizeAsync(string folder)
    {
        var start = new ProcessStartInfo("kubectl", ["kustomize", folder])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("kubectl did not start");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"kubectl kustomize {folder} failed ({process.ExitCode}): {await stderr}");
        var set = new ManifestSet();
        set.AddYaml(await stdout, $"kubectl kustomize {folder}");
        return set;
    }

    public void AddYaml(string yaml, string source)
    {
        foreach (var obj in KubernetesYaml.LoadAllFromString(yaml, DaprKinds, strict: true))
        {
            Objects.Add(((IKubernetesObject<V1ObjectMeta>)obj, source));
        }
    }

    private void AddKustomization(string folder)
    {
        var file = Path.Combine(folder, "kustomization.yaml");
        var kustomization = KustomizationReader.Deserialize<Kustomization>(File.ReadAllText(file));
        foreach (var resource in kustomization.Resources ?? [])
        {
            var path = Path.GetFullPath(Path.Combine(folder, resource));
            if (System.IO.Directory.Exists(path))
            {
                AddKustomization(path);
            }
            else
            {
                Assert.True(File.Exists(path), $"{file}: resource {resource} does not exist");
                AddYaml(File.ReadAllText(path), Path.GetRelativePath(Repo.Root, path));
            }
        }
    }

    private sealed class Kustomization
    {
        public List<string>? Resources { get; set; }
    }
}
