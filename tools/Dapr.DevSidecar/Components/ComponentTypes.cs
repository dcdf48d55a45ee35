using Dapr.DevSidecar.State;

namespace Dapr.DevSidecar.Components;

/// <summary>
/// The component types the dev sidecar implements. Anything else stops start-up with a
/// message naming the file, the type and this list.
/// </summary>
public static partial class ComponentTypes
{
    private static readonly Dictionary<string, Func<ComponentDefinition, ComponentRuntime, object>> Factories = BuildFactories();

    private static Dictionary<string, Func<ComponentDefinition, ComponentRuntime, object>> BuildFactories()
    {
        var factories = new Dictionary<string, Func<ComponentDefinition, ComponentRuntime, object>>(StringComparer.Ordinal)
        {
            ["state.in-memory"] = (_, rt) => new InMemoryStateStore(rt.Time),
        };

        // Each building block registers its types in its own file.
        AddStateTypes(factories);
        AddPubSubTypes(factories);
        AddBindingTypes(factories);
        AddSecretStoreTypes(factories);
        return factories;
    }

    static partial void AddStateTypes(Dictionary<string, Func<ComponentDefinition, ComponentRuntime, object>> factories);

    static partial void AddPubSubTypes(Dictionary<string, Func<ComponentDefinition, ComponentRuntime, object>> factories);

    static partial void AddBindingTypes(Dictionary<string, Func<ComponentDefinition, ComponentRuntime, object>> factories);

    static partial void AddSecretStoreTypes(Dictionary<string, Func<ComponentDefinition, ComponentRuntime, object>> factories);

    /// <summary>Supported types, for error messages and docs.</summary>
    public static IEnumerable<string> Supported => Factories.Keys.Order(StringComparer.Ordinal);

    public static object Create(ComponentDefinition def, ComponentRuntime runtime)
    {
        if (!Factories.TryGetValue(def.Type, out var factory))
        {
            throw new ComponentLoadException(def.SourceFile, "spec.type",
                $"component '{def.Name}' has type '{def.Type}', which the dev sidecar does not implement. Supported types: {string.Join(", ", Supported)}");
        }

        if (def.Version != "v1" && def.Version != "v2")
        {
            throw new ComponentLoadException(def.SourceFile, "spec.version", $"component '{def.Name}' has version '{def.Version}'; supported: v1");
        }

        var instance = factory(def, runtime);
        try
        {
            ValidateCapabilities(def, instance);
        }
        catch
        {
            (instance as IDisposable)?.Dispose();
            (instance as IAsyncDisposable)?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }

        return instance;
    }
}
