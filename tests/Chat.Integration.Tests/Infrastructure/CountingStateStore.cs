using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.State;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>
/// Test-only state store type <c>test.counting</c>: builds the real store named by metadata
/// <c>innerType</c> (state.sqlite or state.redis) and records, for every write call that reaches
/// the store (set, delete, transaction), the keys it wrote. Reads pass through untouched.
/// </summary>
public sealed class CountingStateStore : IStateStore, IDefaultTtlStateStore
{
    public const string TypeName = "state.test-counting";
    public const string InnerTypeKey = "innerType";

    private static readonly ConcurrentDictionary<string, CountingStateStore> ByFolder = new(StringComparer.Ordinal);
    private static readonly Func<ComponentDefinition, ComponentRuntime, object> Factory = Create;
    private readonly IStateStore _inner;

    private CountingStateStore(IStateStore inner) => _inner = inner;

    /// <summary>One entry per write call: the (prefixed) keys it wrote.</summary>
    public ConcurrentQueue<IReadOnlyList<string>> Writes { get; } = new();

    public StateStoreFeatures Features => _inner.Features;

    public TimeSpan? DefaultTtl => (_inner as IDefaultTtlStateStore)?.DefaultTtl;

    [ModuleInitializer]
    internal static void RegisterType() => ComponentTypes.Register(TypeName, Factory);

    /// <summary>The counting store loaded from a test run's component folder.</summary>
    public static CountingStateStore In(string resourcesPath) =>
        ByFolder.TryGetValue(Path.GetFullPath(resourcesPath).TrimEnd('/'), out var store)
            ? store
            : throw new InvalidOperationException($"no {TypeName} store was loaded from {resourcesPath}");

    private static object Create(ComponentDefinition def, ComponentRuntime runtime)
    {
        var innerType = def.Get(InnerTypeKey) ?? throw new ComponentLoadException(def.SourceFile, InnerTypeKey, "needs the wrapped store type");
        var inner = (IStateStore)ComponentTypes.Create(new ComponentDefinition
        {
            Name = def.Name,
            Type = innerType,
            Version = def.Version,
            RawMetadata = def.RawMetadata,
            Metadata = def.Metadata,
            SourceFile = def.SourceFile,
        }, runtime);
        var store = new CountingStateStore(inner);
        ByFolder[Path.GetDirectoryName(Path.GetFullPath(def.SourceFile))!.TrimEnd('/')] = store;
        return store;
    }

    public Task<StateEntry?> GetAsync(string key, CancellationToken cancellationToken) => _inner.GetAsync(key, cancellationToken);

    public Task<IReadOnlyDictionary<string, StateEntry>> GetManyAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken) =>
        _inner.GetManyAsync(keys, cancellationToken);

    public async Task SetAsync(StateUpsert operation, CancellationToken cancellationToken)
    {
        await _inner.SetAsync(operation, cancellationToken);
        Writes.Enqueue([operation.Key]);
    }

    public async Task DeleteAsync(StateDelete operation, CancellationToken cancellationToken)
    {
        await _inner.DeleteAsync(operation, cancellationToken);
        Writes.Enqueue([operation.Key]);
    }

    public async Task ExecuteTransactionAsync(IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken)
    {
        await _inner.ExecuteTransactionAsync(operations, cancellationToken);
        Writes.Enqueue(operations.Select(o => o.Key).ToList());
    }

    public ValueTask DisposeAsync()
    {
        foreach (var (folder, store) in ByFolder)
        {
            if (ReferenceEquals(store, this))
            {
                ByFolder.TryRemove(folder, out _);
            }
        }

        return _inner.DisposeAsync();
    }
}
