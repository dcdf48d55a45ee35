using k8s;
using k8s.Models;

namespace Chat.Deploy.Tests;

/// <summary>
/// Dapr's custom resources (dapr.io/v1alpha1), as far as the manifest rules read them. Components
/// are typed field by field, so strict loading rejects a misspelt field; Configuration and
/// Resiliency specs are kept as parsed YAML.
/// </summary>
public sealed class DaprComponent : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = "";
    public string Kind { get; set; } = "";
    public V1ObjectMeta Metadata { get; set; } = new();
    public ComponentSpec Spec { get; set; } = new();
    public ComponentAuth? Auth { get; set; }
    public List<string>? Scopes { get; set; }
}

public sealed class ComponentSpec
{
    public string Type { get; set; } = "";
    public string Version { get; set; } = "";
    public List<ComponentMetadataItem>? Metadata { get; set; }
    public string? IgnoreErrors { get; set; }
    public string? InitTimeout { get; set; }
}

public sealed class ComponentMetadataItem
{
    public string Name { get; set; } = "";
    public string? Value { get; set; }
    public ComponentSecretKeyRef? SecretKeyRef { get; set; }
}

public sealed class ComponentSecretKeyRef
{
    public string Name { get; set; } = "";
    public string Key { get; set; } = "";
}

public sealed class ComponentAuth
{
    public string SecretStore { get; set; } = "";
}

/// <summary>A Dapr resource whose spec the rules read as YAML (Configuration, Resiliency).</summary>
public sealed class DaprSpecResource : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = "";
    public string Kind { get; set; } = "";
    public V1ObjectMeta Metadata { get; set; } = new();
    public Dictionary<string, object>? Spec { get; set; }
    public List<string>? Scopes { get; set; }
}
