using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.State;

namespace Dapr.DevSidecar.Actors;

/// <summary>
/// The actor state store: the one state store component with metadata
/// <c>actorStateStore: "true"</c>. Actor state keys are written as daprd writes them,
/// <c>{appID}||{actorType}||{actorID}||{key}</c>, straight to the store (no keyPrefix rules).
/// </summary>
public sealed record ActorStateStore(string Name, IStateStore Store)
{
    public const string Separator = "||";

    public static string StateKey(string appId, string actorType, string actorId, string key) =>
        string.Join(Separator, appId, actorType, actorId, key);

    /// <summary>The actor state store among <paramref name="components"/>, or null when none is marked.</summary>
    public static ActorStateStore? Find(AppComponents components)
    {
        foreach (var c in components.OfType<IStateStore>())
        {
            if (c.Definition.GetBool("actorStateStore"))
            {
                return new ActorStateStore(c.Definition.Name, (IStateStore)c.Implementation);
            }
        }

        return null;
    }

    /// <summary>
    /// Refuses start-up, naming the component, when more than one store is marked or the marked
    /// store lacks ETags or transactions (daprd cannot run actors on such a store).
    /// </summary>
    public static void Validate(AppComponents components)
    {
        var marked = components.OfType<IStateStore>().Where(c => c.Definition.GetBool("actorStateStore")).ToList();
        if (marked.Count > 1)
        {
            throw new ComponentLoadException(marked[1].Definition.SourceFile, "spec.metadata[actorStateStore]",
                $"more than one actor state store: '{marked[0].Definition.Name}' and '{marked[1].Definition.Name}' both set actorStateStore: \"true\"; mark only one");
        }

        foreach (var c in marked)
        {
            var features = ((IStateStore)c.Implementation).Features;
            var missing = new List<string>();
            if (!features.HasFlag(StateStoreFeatures.ETag))
            {
                missing.Add("ETags");
            }

            if (!features.HasFlag(StateStoreFeatures.Transactional))
            {
                missing.Add("transactions");
            }

            if (missing.Count > 0)
            {
                throw new ComponentLoadException(c.Definition.SourceFile, "spec.metadata[actorStateStore]",
                    $"state store '{c.Definition.Name}' ({c.Definition.Type}) cannot be the actor state store: it does not support {string.Join(" and ", missing)}");
            }
        }
    }
}
