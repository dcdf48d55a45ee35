namespace Dapr.DevSidecar.Components;

public static partial class ComponentTypes
{
    private static readonly Lock RegistrationLock = new();

    /// <summary>
    /// Adds a component type from outside the dev sidecar (e.g. a test-only decorator that counts
    /// a store's writes). Built-in types cannot be replaced. Register before sidecars load components.
    /// </summary>
    public static void Register(string type, Func<ComponentDefinition, ComponentRuntime, object> factory)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentNullException.ThrowIfNull(factory);
        lock (RegistrationLock)
        {
            if (Factories.TryGetValue(type, out var existing) && existing != factory)
            {
                throw new InvalidOperationException($"component type '{type}' is already registered");
            }

            Factories[type] = factory;
        }
    }
}
