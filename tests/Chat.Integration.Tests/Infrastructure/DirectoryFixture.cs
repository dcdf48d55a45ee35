using System.Collections.Concurrent;
using Chat.Contracts.V1;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Dapr.DevSidecar.Hosting;
using Grpc.Core;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>
/// The directory app behind its dev sidecar (components/embedded: SQLite state, local-file
/// secrets), with router hosting the conversation actors its group changes are pushed to, called through a "gateway" sidecar (public service) and a "messaging" sidecar
/// (internal service) by gRPC proxying, with Dapr API tokens on every hop.
/// </summary>
public sealed class DirectoryFixture : IAsyncLifetime
{
    public const string GatewayToken = "gateway-dapr-token";
    public const string MessagingToken = "messaging-dapr-token";
    private readonly SemaphoreSlim _poolGate = new(1, 1);
    private readonly List<DirUser> _pool = [];
    private int _counter;

    public ChatSystem System { get; private set; } = null!;

    public RunningSidecar DirectorySidecar { get; private set; } = null!;

    public RunningSidecar Gateway { get; private set; } = null!;

    public RunningSidecar Messaging { get; private set; } = null!;

    /// <summary>The public directory service, as the gateway calls it.</summary>
    public DirectoryService.DirectoryServiceClient Directory { get; private set; } = null!;

    /// <summary>The internal directory service, as messaging calls it.</summary>
    public DirectoryInternalService.DirectoryInternalServiceClient Internal { get; private set; } = null!;

    /// <summary>The signing key in the embedded secret store (to mint tokens the app must judge).</summary>
    public byte[] SigningKey { get; private set; } = [];

    public async Task InitializeAsync()
    {
        // Router too: directory pushes every change of a group's members to the group's conversation actor.
        System = await ChatHarness.InProcessAsync(new() { Apps = [DaprNames.Apps.Directory, DaprNames.Apps.Router] });
        DirectorySidecar = System.SidecarOf(DaprNames.Apps.Directory);
        Gateway = await System.StartSidecarAsync(DaprNames.Apps.Gateway, apiToken: GatewayToken);
        Messaging = await System.StartSidecarAsync(DaprNames.Apps.Messaging, apiToken: MessagingToken);
        Directory = new DirectoryService.DirectoryServiceClient(ChatRun.Through(Gateway, DaprNames.Apps.Directory, GatewayToken));
        Internal = new DirectoryInternalService.DirectoryInternalServiceClient(ChatRun.Through(Messaging, DaprNames.Apps.Directory, MessagingToken));
        SigningKey = ChatSigningKeys.Parse(ChatRun.JwtKey);
    }

    public async Task DisposeAsync()
    {
        await System.DisposeAsync();
        _poolGate.Dispose();
    }

    /// <summary>A new unique user name.</summary>
    public string NewUserName(string prefix = "user") =>
        $"{prefix}{Interlocked.Increment(ref _counter)}-{Guid.NewGuid():N}"[..Math.Min(32, prefix.Length + 14)];

    /// <summary>Registers a new user.</summary>
    public async Task<DirUser> RegisterAsync(string prefix = "user", string device = "phone")
    {
        var name = NewUserName(prefix);
        var response = await Directory.RegisterAsync(new RegisterRequest { UserName = name, Password = DirUser.Password, DeviceId = device, DisplayName = $"Dn {name}" });
        return new DirUser(response.Profile.UserId, name, device, response.Tokens);
    }

    /// <summary>At least <paramref name="count"/> registered users, shared by tests (registered once, eight at a time).</summary>
    public async Task<IReadOnlyList<DirUser>> PoolAsync(int count)
    {
        await _poolGate.WaitAsync();
        try
        {
            var missing = count - _pool.Count;
            if (missing > 0)
            {
                var added = new ConcurrentBag<DirUser>();
                await Parallel.ForEachAsync(Enumerable.Range(0, missing), new ParallelOptions { MaxDegreeOfParallelism = 8 },
                    async (_, _) => added.Add(await RegisterAsync("pool")));
                _pool.AddRange(added);
            }

            return _pool.Take(count).ToList();
        }
        finally
        {
            _poolGate.Release();
        }
    }
}

/// <summary>A registered user and their current tokens.</summary>
public sealed record DirUser(string UserId, string UserName, string DeviceId, AuthTokens Tokens)
{
    public const string Password = "correct horse battery";

    /// <summary>
    /// New metadata carrying this user's access token. A new instance each time: the Dapr
    /// invocation invoker appends dapr-app-id and dapr-api-token to the metadata it is given,
    /// so one instance reused across calls would carry them twice.
    /// </summary>
    public Metadata Auth => Bearer(Tokens.AccessToken);

    public static Metadata Bearer(string token) => new() { { "authorization", $"Bearer {token}" } };
}

[CollectionDefinition(Name)]
public sealed class DirectoryCollection : ICollectionFixture<DirectoryFixture>
{
    public const string Name = "directory";
}
