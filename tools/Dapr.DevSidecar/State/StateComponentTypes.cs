using Dapr.DevSidecar.State;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Components;

public static partial class ComponentTypes
{
    static partial void AddStateTypes(Dictionary<string, Func<ComponentDefinition, ComponentRuntime, object>> factories)
    {
        factories["state.sqlite"] = (def, rt) => new SqliteStateStore(def, rt.Time, rt.LoggerFactory.CreateLogger("Dapr.DevSidecar.State.Sqlite"));
        factories["state.redis"] = (def, rt) => new RedisStateStore(def, rt.Time);
        factories["state.cassandra"] = (def, rt) => new CassandraStateStore(def, rt.Time, rt.LoggerFactory.CreateLogger("Dapr.DevSidecar.State.Cassandra"));
    }

    /// <summary>
    /// Checks what the component's metadata asks of it against what it can do, as daprd does at
    /// load: the actor state store (<c>actorStateStore: "true"</c>) needs ETags and transactions.
    /// </summary>
    internal static void ValidateCapabilities(ComponentDefinition def, object implementation)
    {
        if (implementation is IStateStore store && def.GetBool("actorStateStore"))
        {
            var missing = StateStoreFeatures.ETag | StateStoreFeatures.Transactional;
            missing &= ~store.Features;
            if (missing != StateStoreFeatures.None)
            {
                throw new ComponentLoadException(def.SourceFile, "spec.metadata[actorStateStore]",
                    $"component '{def.Name}' ({def.Type}) cannot be the actor state store: actors need ETags and transactions, and it lacks {missing}");
            }
        }
    }

    /// <summary>The capabilities daprd reports for a component in the metadata API.</summary>
    public static IReadOnlyList<string> Capabilities(ComponentInstance component)
    {
        var caps = new List<string>();
        if (component.Implementation is IStateStore store)
        {
            if (store.Features.HasFlag(StateStoreFeatures.ETag))
            {
                caps.Add("ETAG");
            }

            if (store.Features.HasFlag(StateStoreFeatures.Transactional))
            {
                caps.Add("TRANSACTIONAL");
            }

            if (store.Features.HasFlag(StateStoreFeatures.Ttl))
            {
                caps.Add("TTL");
            }

            if (component.Definition.GetBool("actorStateStore"))
            {
                caps.Add("ACTOR");
            }
        }

        return caps;
    }
}
