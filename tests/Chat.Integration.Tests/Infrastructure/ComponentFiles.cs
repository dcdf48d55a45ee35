using Chat.Domain;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>
/// Writes the component set of a test run into its temp folder: the same names and types as
/// components/embedded and components/redis, with files and ports of this run.
/// </summary>
internal static class ComponentFiles
{
    /// <summary>
    /// Writes the set. <paramref name="processingTimeout"/> and <paramref name="redeliverInterval"/>
    /// are the redis pub/sub's (short by default, so tests see redeliveries quickly).
    /// </summary>
    public static void Write(string dir, ComponentSet set, string? redisEndpoint, bool countPresenceWrites = false, IReadOnlyDictionary<string, string>? secrets = null,
        string processingTimeout = "2s", string redeliverInterval = "1s")
    {
        var allSecrets = new Dictionary<string, string>(secrets ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [DaprNames.Secrets.JwtSigningKey] = ChatSystem.JwtKey,
        };
        File.WriteAllText(Path.Combine(dir, "secrets.json"), System.Text.Json.JsonSerializer.Serialize(allSecrets));
        Write(dir, DaprNames.Secrets.Store, "secretstores.local.file", ("secretsFile", Path.Combine(dir, "secrets.json")), ("nestedSeparator", ":"));
        string[] stores = [DaprNames.StateStores.Messages, DaprNames.StateStores.Directory, DaprNames.StateStores.Presence, DaprNames.StateStores.Actors];
        foreach (var store in stores)
        {
            var extra = new List<(string, string)>();
            if (store is DaprNames.StateStores.Messages or DaprNames.StateStores.Presence)
            {
                extra.Add(("keyPrefix", "name"));
            }

            if (store == DaprNames.StateStores.Actors)
            {
                extra.Add(("actorStateStore", "true"));
            }

            if (countPresenceWrites && store == DaprNames.StateStores.Presence)
            {
                // The same store, wrapped by a test-only type that counts write calls.
                (string, string)[] inner = set == ComponentSet.Redis
                    ? [(CountingStateStore.InnerTypeKey, "state.redis"), ("redisHost", redisEndpoint!)]
                    : [(CountingStateStore.InnerTypeKey, "state.sqlite"), ("connectionString", Path.Combine(dir, store + ".db"))];
                Write(dir, store, CountingStateStore.TypeName, [.. inner, .. extra]);
            }
            else if (set == ComponentSet.Redis)
            {
                Write(dir, store, "state.redis", [("redisHost", redisEndpoint!), .. extra]);
            }
            else
            {
                Write(dir, store, "state.sqlite", [("connectionString", Path.Combine(dir, store + ".db")), .. extra]);
            }
        }

        // Attachment blobs (issue 17): files in the run's folder, in both sets.
        Write(dir, DaprNames.Bindings.Media, "bindings.localstorage", ("rootPath", Path.Combine(dir, "media")));

        if (set == ComponentSet.Redis)
        {
            Write(dir, DaprNames.PubSub, "pubsub.redis", ("redisHost", redisEndpoint!), ("processingTimeout", processingTimeout), ("redeliverInterval", redeliverInterval));
        }
        else
        {
            Write(dir, DaprNames.PubSub, "pubsub.in-memory");
        }
    }

    /// <summary>Writes one component; values are YAML double-quoted, so they may hold newlines (PEM keys).</summary>
    public static void Write(string dir, string name, string type, params (string Key, string Value)[] metadata) =>
        File.WriteAllText(Path.Combine(dir, name + ".yaml"), $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: {name}
            spec:
              type: {type}
              version: v1
              metadata:
            {string.Concat(metadata.Select(m => $"  - name: {m.Key}\n    value: \"{Quote(m.Value)}\"\n"))}
            """);

    private static string Quote(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
