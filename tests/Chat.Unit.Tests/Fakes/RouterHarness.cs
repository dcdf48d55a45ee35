using Chat.Core;
using Chat.Core.Routing;
using Chat.Domain;
using Chat.Router;
using Chat.ServiceDefaults;
using Dapr.Actors;
using Dapr.Actors.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Chat.Unit.Tests.Fakes;

/// <summary>
/// The router's actors over one fake sidecar: each <see cref="ActivateAsync"/> is a fresh
/// activation (as after a crash or a move to another host), sharing the store.
/// </summary>
public sealed class RouterHarness : IAsyncDisposable
{
    private readonly WorkerIdLease _lease;

    private RouterHarness(bool transactional, bool etags, string? storeType, FakeDaprClient? dapr, FakeTimeProvider? time, FakeDirectory? directory)
    {
        // Starts at the real time: the actor stamps messages with the system clock, the other services use this one.
        Time = time ?? new FakeTimeProvider(DateTimeOffset.UtcNow);
        Dapr = dapr ?? new FakeDaprClient(Time)
            .WithStore(DaprNames.StateStores.Messages, transactional ? FakeDaprClient.FullStore : etags ? ["ETAG", "TTL"] : ["TTL"])
            .WithStore(DaprNames.StateStores.Presence, FakeDaprClient.FullStore)
            .WithStore(DaprNames.StateStores.Actors, FakeDaprClient.FullStore);
        if (storeType is not null)
        {
            Dapr.WithStoreType(DaprNames.StateStores.Messages, storeType);
        }
        _lease = new WorkerIdLease(Dapr, new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Chat:WorkerId"] = "7" }).Build(),
            Options.Create(new WorkerIdLeaseOptions()), Time, NullLogger<WorkerIdLease>.Instance);
        Ids = new LeasedSnowflakeIds(_lease);
        FanOut = new FanOut(Dapr, Time);
        if (directory is null)
        {
            // The conversations the router tests send in; tests change or add others.
            directory = new FakeDirectory();
            directory.Direct("ann", "carl");
            directory.Direct("ann", "bot1");
            directory.Group("g1", "ann", "carl", "dora");
        }

        Directory = directory;
    }

    /// <summary>Directory as the actors ask it for members.</summary>
    public FakeDirectory Directory { get; }

    public FakeTimeProvider Time { get; }

    public FakeDaprClient Dapr { get; }

    public LeasedSnowflakeIds Ids { get; }

    public RouterFaults Faults { get; } = new();

    /// <summary>The router process's fan-out to gateways (one lease cache for every activation).</summary>
    public FanOut FanOut { get; }

    /// <summary>Reminders of the last activation.</summary>
    public FakeTimerManager Timers { get; private set; } = new();

    /// <summary>
    /// A router over a new fake sidecar, or over <paramref name="dapr"/> shared with other apps under test. The messages
    /// store is transactional, or has ETags only, or (<paramref name="etags"/> false) neither, as Cassandra.
    /// The messages store reports <paramref name="storeType"/> when given (the type decides the actor's commit path).
    /// Members come from <paramref name="directory"/>, or from one that knows dm:ann:carl, dm:ann:bot1 and grp:g1 (ann, carl, dora).
    /// </summary>
    public static async Task<RouterHarness> StartAsync(bool transactional = true, FakeDaprClient? dapr = null, FakeTimeProvider? time = null, bool etags = true,
        FakeDirectory? directory = null, string? storeType = null)
    {
        var harness = new RouterHarness(transactional, etags, storeType, dapr, time, directory);
        await harness._lease.StartAsync(CancellationToken.None);
        return harness;
    }

    /// <summary>A new activation of the conversation's actor (OnActivateAsync run).</summary>
    public async Task<ConversationActor> ActivateAsync(string conversationId)
    {
        Timers = new FakeTimerManager();
        var host = ActorHost.CreateForTest<ConversationActor>(DaprNames.Actors.Conversation,
            new ActorTestOptions { ActorId = new ActorId(conversationId), TimerManager = Timers });
        // One capability cache per activation, as each process has its own.
        var actor = new ConversationActor(host, Dapr, new DaprComponentCapabilities(Dapr), Ids, Faults, Directory.Client, FanOut, Time, NullLogger<ConversationActor>.Instance);
        await ActorRuntimeSteps.ActivateAsync(actor);
        return actor;
    }

    public Task<StoredMessage?> StoredAsync(string conversationId, ulong seq) =>
        Dapr.GetStateAsync<StoredMessage?>(DaprNames.StateStores.Messages, MessageKeys.Message(conversationId, seq));

    public Task<ConversationMeta?> MetaAsync(string conversationId) =>
        Dapr.GetStateAsync<ConversationMeta?>(DaprNames.StateStores.Messages, MessageKeys.Meta(conversationId));

    public async ValueTask DisposeAsync()
    {
        await _lease.StopAsync(CancellationToken.None);
        _lease.Dispose();
    }
}
