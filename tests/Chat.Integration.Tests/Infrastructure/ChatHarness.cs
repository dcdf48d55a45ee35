using Chat.Domain;
using Chat.Integration.Tests.Reliability;
using Microsoft.AspNetCore.Builder;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>How the apps of a run are hosted.</summary>
public enum Hosting
{
    /// <summary>Every app and sidecar in the test process (<see cref="ChatSystem"/>): fast, and tests can reach into an app's services.</summary>
    InProcess,

    /// <summary>Each app as its own OS process, its built dll (<see cref="AppProcesses"/>): can be killed with SIGKILL and started again.</summary>
    Processes,
}

/// <summary>What a test needs of the chat system; the harness decides how to start it.</summary>
public sealed record ChatHarnessOptions
{
    /// <summary>The repo's component set the sidecars load (see <see cref="RunFolder"/> for the few fields a run changes).</summary>
    public ComponentSet Components { get; init; } = ComponentSet.Embedded;

    public Hosting Hosting { get; init; } = Hosting.InProcess;

    /// <summary>
    /// The apps, in start order (an empty list starts none). Default: directory, router and messaging
    /// in process; every app of the system as processes.
    /// </summary>
    public IReadOnlyList<string>? Apps { get; init; }

    /// <summary>Instances of the gateway (when <see cref="Apps"/> has it).</summary>
    public int Gateways { get; init; } = 1;

    /// <summary>Instances of each app that scales out (router, messaging, delivery, gateway), as dapr.scale.yaml runs them.</summary>
    public int Instances { get; init; } = 1;

    /// <summary>Apps whose sidecars run as their own <c>dapr-dev-sidecar</c> processes (<see cref="Hosting.Processes"/> only).</summary>
    public IReadOnlyList<string> OwnSidecarProcess { get; init; } = [];

    /// <summary>A running redis-server to use (e.g. a collection's); null with the redis set: the run starts its own.</summary>
    public string? Redis { get; init; }

    /// <summary>Configuration given to every app (e.g. short presence intervals).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Secrets added to (or replacing) those of the repo's local secret store.</summary>
    public IReadOnlyDictionary<string, string> Secrets { get; init; } = new Dictionary<string, string>();

    /// <summary>Components the test points elsewhere (e.g. a push binding at a fake push service).</summary>
    public IReadOnlyList<ComponentChange> ComponentChanges { get; init; } = [];

    /// <summary>
    /// Another run whose components (and so its stores and files) this run loads instead of a set
    /// of its own; the runtime, actor placement and in-memory pub/sub stay this run's (e.g. two
    /// routers that each believe they own an actor). The component options above are then unused.
    /// </summary>
    public ChatRun? ComponentsOf { get; init; }

    /// <summary>Wraps the presence store in <see cref="CountingStateStore"/> so tests can count its writes.</summary>
    public bool CountPresenceWrites { get; init; }

    /// <summary>Called with each app's builder after its own services are added (in process only; e.g. a test's hub filter).</summary>
    public Action<string, WebApplicationBuilder>? ConfigureApp { get; init; }

    /// <summary>Every app of the system, in the order the harness starts them.</summary>
    public static readonly string[] AllApps =
        [DaprNames.Apps.Directory, DaprNames.Apps.Presence, DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Delivery, DaprNames.Apps.Gateway];

    /// <summary>The apps that scale out to several instances.</summary>
    public static bool ScalesOut(string appId) =>
        appId is DaprNames.Apps.Router or DaprNames.Apps.Messaging or DaprNames.Apps.Delivery or DaprNames.Apps.Gateway;

    /// <summary><see cref="Apps"/> (or the default) with each app repeated for its instances.</summary>
    internal IReadOnlyList<string> StartList()
    {
        var apps = Apps ?? (Hosting == Hosting.InProcess ? [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging] : AllApps);
        return apps.SelectMany(a => Enumerable.Repeat(a, a == DaprNames.Apps.Gateway ? Math.Max(Gateways, Instances) : ScalesOut(a) ? Instances : 1)).ToList();
    }

    /// <summary>The component changes of these options (the counting presence store included).</summary>
    internal IEnumerable<ComponentChange> AllComponentChanges() => CountPresenceWrites
        ? ComponentChanges.Append(new ComponentChange(DaprNames.StateStores.Presence)
        {
            // The same store, wrapped by a test-only type that counts write calls.
            Type = CountingStateStore.TypeName,
            Metadata = new Dictionary<string, string> { [CountingStateStore.InnerTypeKey] = ComponentChange.OriginalType },
        })
        : ComponentChanges;
}

/// <summary>
/// The one way tests start the chat system: say what is needed
/// (<c>await ChatHarness.StartAsync(new() { Components = ComponentSet.Redis, Hosting = Hosting.Processes, Gateways = 2 })</c>),
/// get a running system on the repo's components, dispose it at the end.
/// </summary>
public static class ChatHarness
{
    public static async Task<ChatRun> StartAsync(ChatHarnessOptions options) => options.Hosting switch
    {
        Hosting.InProcess => await ChatSystem.StartAsync(options),
        Hosting.Processes => await AppProcesses.StartAsync(options),
        _ => throw new ArgumentOutOfRangeException(nameof(options)),
    };

    /// <summary>In process, for tests that reach into an app (<see cref="ChatSystem.AppOf"/>) or stop one.</summary>
    public static Task<ChatSystem> InProcessAsync(ChatHarnessOptions options) =>
        ChatSystem.StartAsync(options with { Hosting = Hosting.InProcess });

    /// <summary>As OS processes, for tests that kill and restart apps, sidecars or redis.</summary>
    public static Task<AppProcesses> ProcessesAsync(ChatHarnessOptions options) =>
        AppProcesses.StartAsync(options with { Hosting = Hosting.Processes });
}
