using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Actors;

/// <summary>
/// Actor placement shared by several dev-sidecar processes of one machine, through a folder
/// (docs/dev-sidecar.md, "Actors across processes"): what daprd gets from the placement service.
/// <list type="bullet">
/// <item>Liveness: each process holds an exclusive file lock on <c>members/{id}.lock</c> for its
/// life; the kernel drops it when the process dies (kill -9 included). A process that hosts actors
/// lists its hosts in <c>members/{id}.json</c>.</item>
/// <item>One leader (whoever holds <c>leader.lock</c>) turns the live members into versioned
/// tables in <c>table.json</c>: version N in phase <c>lock</c>, then, once every live member
/// acknowledged N in <c>acks/{id}</c>, phase <c>unlock</c>.</item>
/// <item>A member seeing N locked starts no new turns, deactivates its actors that N places
/// elsewhere (after their ongoing call), then acknowledges. Calls are routed by the newest table;
/// the owning process runs them only when its table is unlocked and names it the owner, so an
/// actor is active in one process at a time.</item>
/// </list>
/// </summary>
public sealed partial class ActorCluster : IAsyncDisposable
{
    private static readonly TimeSpan MemberPoll = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan LeaderPoll = TimeSpan.FromMilliseconds(100);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ActorPlacement _placement;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<ActorHost> _localHosts = [];
    private readonly SemaphoreSlim _memberWrite = new(1, 1);
    private FileStream? _memberLock;
    private FileStream? _leaderLock;
    private RoutingTable _table = RoutingTable.Empty;
    private TaskCompletionSource _changed = NewSignal();
    private Task? _memberLoop;
    private Task? _leaderLoop;
    private string? _lastSeen;

    internal ActorCluster(ActorPlacement placement, string folder, ILogger log)
    {
        _placement = placement;
        _log = log;
        Folder = folder;
        Token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        _started = new Lazy<Task>(StartAsync);
    }

    private readonly Lazy<Task> _started;

    /// <summary>The placement folder shared by the processes of the cluster.</summary>
    public string Folder { get; }

    /// <summary>This process's member id (unique per process run).</summary>
    public string MemberId { get; } = $"{Environment.ProcessId}-{Guid.NewGuid():N}"[..24];

    /// <summary>The token other members send to this process's internal actor endpoint.</summary>
    internal string Token { get; }

    /// <summary>The version of the table this process routes by (0 before the first one).</summary>
    public long Version => Volatile.Read(ref _table).Version;

    /// <summary>How many hosts of <paramref name="type"/> the table in effect has (0 while it is locked).</summary>
    internal int HostCount(string type)
    {
        var table = Volatile.Read(ref _table);
        return table.Locked ? 0 : table.HostCount(type);
    }

    /// <summary>Completes once this process reads tables and, when it hosts actors, serves other members.</summary>
    public Task Started => _started.Value;

    private string MembersFolder => Path.Combine(Folder, "members");

    private string AcksFolder => Path.Combine(Folder, "acks");

    private string TablePath => Path.Combine(Folder, "table.json");

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes on the next table change seen by this process.</summary>
    internal Task Changed
    {
        get
        {
            lock (_gate)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>The default folder: <c>$DAPR_DEV_SIDECAR_PLACEMENT</c>, else <c>placement</c> next to the name-resolution folder.</summary>
    public static string DefaultFolder(string registryFolder) =>
        Environment.GetEnvironmentVariable("DAPR_DEV_SIDECAR_PLACEMENT") is { Length: > 0 } env
            ? env
            : Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(registryFolder))) ?? Path.GetTempPath(), "placement");

    private async Task StartAsync()
    {
        foreach (var dir in new[] { Folder, MembersFolder, AcksFolder })
        {
            Hosting.AppRegistry.CreatePrivateDirectory(dir);
        }

        // Held for the life of the process: the kernel releases it on any exit, kill -9 included.
        _memberLock = new FileStream(Path.Combine(MembersFolder, MemberId + ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        await StartServerAsync(_stop.Token);
        _memberLoop = Task.Run(MemberLoopAsync);
        _leaderLoop = Task.Run(LeaderLoopAsync);
    }

    /// <summary>A host of this process starts serving its actor types.</summary>
    internal async Task AddLocalAsync(ActorHost host)
    {
        await Started;
        lock (_gate)
        {
            _localHosts.Add(host);
        }

        await WriteMemberAsync();
    }

    /// <summary>A host of this process stops (its actors are deactivated by the placement).</summary>
    internal async Task RemoveLocalAsync(ActorHost host)
    {
        lock (_gate)
        {
            _localHosts.Remove(host);
        }

        if (_started.IsValueCreated && !_stop.IsCancellationRequested)
        {
            await Started;
            await WriteMemberAsync();
        }
    }

    /// <summary>Writes (or, with no hosts left, removes) this process's member file; the leader publishes a new table.</summary>
    private async Task WriteMemberAsync()
    {
        await _memberWrite.WaitAsync();
        try
        {
            ClusterHostInfo[] hosts;
            lock (_gate)
            {
                hosts = _localHosts.Where(h => !h.IsStopped).Select(h => new ClusterHostInfo(h.Name, [.. h.Config.Types.Keys])).ToArray();
            }

            var path = Path.Combine(MembersFolder, MemberId + ".json");
            if (hosts.Length == 0)
            {
                File.Delete(path);
                return;
            }

            WritePrivate(path, JsonSerializer.SerializeToUtf8Bytes(new ClusterMember(MemberId, Environment.ProcessId, ServerPort, Token, hosts), Json));
        }
        finally
        {
            _memberWrite.Release();
        }
    }

    /// <summary>Writes a file readable by this user only (member files hold tokens), atomically.</summary>
    private static void WritePrivate(string path, byte[] bytes)
    {
        var tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(tmp, options))
        {
            stream.Write(bytes);
        }

        File.Move(tmp, path, overwrite: true);
    }

    private static T? ReadJson<T>(string path) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllBytes(path), Json);
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Runs <paramref name="step"/> every <paramref name="every"/> until the cluster stops; file errors are logged and retried.</summary>
    private async Task PollAsync(TimeSpan every, string what, Func<CancellationToken, Task> step)
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await step(ct);
                await Task.Delay(every, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _log.LogWarning("Actor placement: {What} failed: {Error}", what, ex.Message);
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // already gone
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var loop in new[] { _memberLoop, _leaderLoop })
        {
            if (loop is not null)
            {
                await loop;
            }
        }

        await StopServerAsync();
        if (_memberLock is not null)
        {
            TryDelete(Path.Combine(MembersFolder, MemberId + ".json"));
            TryDelete(Path.Combine(AcksFolder, MemberId));
            TryDelete(Path.Combine(MembersFolder, MemberId + ".lock"));
            await _memberLock.DisposeAsync();
        }

        if (_leaderLock is not null)
        {
            await _leaderLock.DisposeAsync();
        }

        _http.Dispose();
    }
}
