using Dapr.DevSidecar.Secrets;

namespace Dapr.DevSidecar.Components;

public static partial class ComponentTypes
{
    static partial void AddSecretStoreTypes(Dictionary<string, Func<ComponentDefinition, ComponentRuntime, object>> factories)
    {
        factories["secretstores.local.file"] = (def, _) => new LocalFileSecretStore(def);
        factories["secretstores.local.env"] = (def, _) => new LocalEnvSecretStore(def);
    }
}
