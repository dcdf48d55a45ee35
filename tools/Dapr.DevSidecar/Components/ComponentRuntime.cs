using System.Collections.Concurrent;
using Dapr.DevSidecar.Secrets;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Components;

/// <summary>A built component: its definition and the object that implements it.</summary>
public sealed record ComponentInstance(ComponentDefinition Definition, object Implementation);

/// <summary>
/// Builds components from their definitions and shares each one between every sidecar of
/// this process that loads the same file (so in-memory stores and pub/sub reach across apps
/// in a multi-app run). Each sidecar sees only the components in its scope
/// (<see cref="ForApp"/>).
/// </summary>
public sealed class ComponentRuntime(ILoggerFactory loggerFactory, TimeProvider time) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<ComponentInstance>> _instances = new(StringComparer.Ordinal);
    private readonly ILogger _log = loggerFactory.CreateLogger("Dapr.DevSidecar.Components");

    public ILoggerFactory LoggerFactory { get; } = loggerFactory;

    public TimeProvider Time { get; } = time;

    /// <summary>
    /// Name resolution for service invocation between the sidecars of this runtime (and, when
    /// it has a folder, of other dev-sidecar processes).
    /// </summary>
    public Hosting.AppRegistry Apps { get; init; } = new();

    /// <summary>
    /// The folder through which this runtime's actor placement is shared with other dev-sidecar
    /// processes (<see cref="Actors.ActorCluster"/>); null: placement spans this runtime's sidecars only.
    /// </summary>
    public string? PlacementFolder { get; init; }

    private readonly ConcurrentBag<IAsyncDisposable> _owned = [];

    /// <summary>Disposes <paramref name="item"/> (before the components) when this runtime is disposed.</summary>
    internal void DisposeWith(IAsyncDisposable item) => _owned.Add(item);

    /// <summary>
    /// Builds (or reuses) every component in <paramref name="resources"/> that is in scope for
    /// <paramref name="appId"/>. Secret stores are built first so that other components can
    /// resolve their <c>secretKeyRef</c>s. Throws <see cref="ComponentLoadException"/> on any
    /// unsupported type or bad metadata.
    /// </summary>
    public AppComponents ForApp(string appId, LoadedResources resources)
    {
        foreach (var warning in resources.Warnings)
        {
            _log.LogWarning("{Warning}", warning);
        }

        var inScope = resources.Components.Where(c => c.IsInScope(appId)).ToList();
        var built = new List<ComponentInstance>();
        foreach (var def in inScope.Where(c => c.Category == "secretstores"))
        {
            ResolveMetadata(def, built);
            built.Add(GetOrBuild(def));
        }

        foreach (var def in inScope.Where(c => c.Category != "secretstores"))
        {
            ResolveMetadata(def, built);
            try
            {
                built.Add(GetOrBuild(def));
            }
            catch (ComponentLoadException) when (def.IgnoreErrors)
            {
                _log.LogWarning("Component {Component} failed to initialize and has ignoreErrors: true; skipped.", def);
            }
        }

        return new AppComponents(appId, built);
    }

    private ComponentInstance GetOrBuild(ComponentDefinition def)
    {
        var key = $"{Path.GetFullPath(def.SourceFile)}#{def.Name}";
        var lazy = _instances.GetOrAdd(key, _ => new Lazy<ComponentInstance>(() => new ComponentInstance(def, ComponentTypes.Create(def, this))));
        try
        {
            return lazy.Value;
        }
        catch
        {
            _instances.TryRemove(key, out _);
            throw;
        }
    }

    private static void ResolveMetadata(ComponentDefinition def, IReadOnlyList<ComponentInstance> secretStores)
    {
        var resolved = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in def.RawMetadata)
        {
            if (entry.SecretKeyRef is { } secretRef)
            {
                var storeName = def.SecretStore
                    ?? throw new ComponentLoadException(def.SourceFile, $"spec.metadata[{entry.Name}].secretKeyRef",
                        $"component '{def.Name}' uses a secretKeyRef but names no secret store (set auth.secretStore)");
                var store = secretStores.FirstOrDefault(s => s.Definition.Name == storeName)?.Implementation as ISecretStore
                    ?? throw new ComponentLoadException(def.SourceFile, "auth.secretStore",
                        $"secret store '{storeName}' used by component '{def.Name}' is not loaded (or not in this app's scope)");
                var secret = store.GetSecretAsync(secretRef.Name, new Dictionary<string, string>(), CancellationToken.None).GetAwaiter().GetResult();
                var key = secretRef.Key ?? secretRef.Name;
                if (secret is null || !secret.TryGetValue(key, out var value))
                {
                    throw new ComponentLoadException(def.SourceFile, $"spec.metadata[{entry.Name}].secretKeyRef",
                        $"secret '{secretRef.Name}' (key '{key}') was not found in secret store '{storeName}'");
                }

                resolved[entry.Name] = value;
            }
            else if (entry.Value is not null)
            {
                resolved[entry.Name] = entry.Value;
            }
            else if (entry.EnvRef is { } env)
            {
                resolved[entry.Name] = Environment.GetEnvironmentVariable(env)
                    ?? throw new ComponentLoadException(def.SourceFile, $"spec.metadata[{entry.Name}].envRef",
                        $"environment variable '{env}' is not set");
            }
        }

        def.Metadata = resolved;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var item in _owned)
        {
            await item.DisposeAsync();
        }

        foreach (var lazy in _instances.Values.Where(l => l.IsValueCreated))
        {
            switch (lazy.Value.Implementation)
            {
                case IAsyncDisposable ad:
                    await ad.DisposeAsync();
                    break;
                case IDisposable d:
                    d.Dispose();
                    break;
            }
        }

        _instances.Clear();
    }
}

/// <summary>The components one app's sidecar may use, by name.</summary>
public sealed class AppComponents(string appId, IReadOnlyList<ComponentInstance> components)
{
    public string AppId { get; } = appId;

    public IReadOnlyList<ComponentInstance> All { get; } = components;

    /// <summary>The component named <paramref name="name"/> if it implements <typeparamref name="T"/>.</summary>
    public T? Get<T>(string name) where T : class =>
        All.FirstOrDefault(c => c.Definition.Name == name)?.Implementation as T;

    public ComponentDefinition? Definition(string name) => All.FirstOrDefault(c => c.Definition.Name == name)?.Definition;

    public IEnumerable<ComponentInstance> OfType<T>() => All.Where(c => c.Implementation is T);
}
