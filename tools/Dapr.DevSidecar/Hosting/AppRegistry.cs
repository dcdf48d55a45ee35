using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace Dapr.DevSidecar.Hosting;

/// <summary>
/// One running instance of an app and its sidecar, as name resolution sees it: where the
/// sidecar listens (<paramref name="Host"/>, ports) and where its app listens.
/// </summary>
public sealed record AppInstance(
    string AppId,
    string InstanceId,
    string Host,
    int HttpPort,
    int GrpcPort,
    string AppChannelAddress,
    int? AppPort,
    string AppProtocol,
    string? AppApiToken,
    int Pid);

/// <summary>
/// Name resolution between sidecars: app-id to running instances, round-robin across them.
/// Sidecars of this process are found in memory. When a folder is given, each sidecar also
/// writes an entry there (<c>{folder}/{appId}/{instanceId}.json</c>) so that sidecars in other
/// dev-sidecar processes find it: this stands in for daprd's mDNS in self-hosted mode.
/// Entries whose process is gone are ignored (and removed).
/// </summary>
public sealed class AppRegistry(string? folder = null)
{
    private static readonly TimeSpan FileCacheTtl = TimeSpan.FromSeconds(1);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ConcurrentDictionary<string, AppInstance[]> _local = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (long At, AppInstance[] Instances)> _fileCache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _next = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>The folder of the cross-process registry, or null when only this process is searched.</summary>
    public string? Folder { get; } = folder;

    /// <summary>
    /// The default cross-process folder: <c>$DAPR_DEV_SIDECAR_REGISTRY</c>, else
    /// <c>{temp}/dapr-dev-sidecar-{user}/apps</c>.
    /// </summary>
    public static string DefaultFolder =>
        Environment.GetEnvironmentVariable("DAPR_DEV_SIDECAR_REGISTRY") is { Length: > 0 } env
            ? env
            : Path.Combine(Path.GetTempPath(), $"dapr-dev-sidecar-{Environment.UserName}", "apps");

    /// <summary>Adds an instance; disposing the result removes it (and its file).</summary>
    public IDisposable Register(AppInstance instance)
    {
        lock (_gate)
        {
            var current = _local.GetValueOrDefault(instance.AppId, []);
            _local[instance.AppId] = [.. current, instance];
        }

        var file = WriteFile(instance);
        return new Registration(this, instance, file);
    }

    /// <summary>The next instance of <paramref name="appId"/> (round-robin), or null when none runs.</summary>
    public AppInstance? Resolve(string appId)
    {
        var instances = _local.GetValueOrDefault(appId);
        if (instances is not { Length: > 0 })
        {
            instances = FromFiles(appId);
        }

        if (instances.Length == 0)
        {
            return null;
        }

        if (instances.Length == 1)
        {
            return instances[0];
        }

        var n = _next.AddOrUpdate(appId, 0, (_, v) => unchecked(v + 1));
        return instances[(int)((uint)n % (uint)instances.Length)];
    }

    /// <summary>Every instance of <paramref name="appId"/> known right now.</summary>
    public IReadOnlyList<AppInstance> InstancesOf(string appId) =>
        _local.GetValueOrDefault(appId) is { Length: > 0 } local ? local : FromFiles(appId);

    private void Remove(AppInstance instance)
    {
        lock (_gate)
        {
            var remaining = _local.GetValueOrDefault(instance.AppId, []).Where(i => !ReferenceEquals(i, instance)).ToArray();
            if (remaining.Length == 0)
            {
                _local.TryRemove(instance.AppId, out _);
            }
            else
            {
                _local[instance.AppId] = remaining;
            }
        }
    }

    private string? WriteFile(AppInstance instance)
    {
        if (Folder is null)
        {
            return null;
        }

        var dir = Path.Combine(Folder, instance.AppId);
        CreatePrivateDirectory(Folder);
        CreatePrivateDirectory(dir);
        var path = Path.Combine(dir, instance.InstanceId + ".json");
        var tmp = path + ".tmp";
        // The entry may carry the app's APP_API_TOKEN: keep it readable by this user only.
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(tmp, options))
        {
            JsonSerializer.Serialize(stream, instance, Json);
        }

        File.Move(tmp, path, overwrite: true);
        return path;
    }

    internal static void CreatePrivateDirectory(string dir)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(dir);
        }
        else
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private AppInstance[] FromFiles(string appId)
    {
        if (Folder is null)
        {
            return [];
        }

        var now = Environment.TickCount64;
        if (_fileCache.TryGetValue(appId, out var cached) && now - cached.At < FileCacheTtl.TotalMilliseconds)
        {
            return cached.Instances;
        }

        var found = new List<AppInstance>();
        var dir = Path.Combine(Folder, appId);
        if (Directory.Exists(dir))
        {
            foreach (var file in Directory.EnumerateFiles(dir, "*.json"))
            {
                try
                {
                    var instance = JsonSerializer.Deserialize<AppInstance>(File.ReadAllText(file), Json);
                    if (instance is null)
                    {
                        continue;
                    }

                    if (IsAlive(instance.Pid))
                    {
                        found.Add(instance);
                    }
                    else
                    {
                        File.Delete(file);
                    }
                }
                catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException)
                {
                    // A file being written or removed by its sidecar right now: skip it this time.
                }
            }
        }

        var instances = found.ToArray();
        _fileCache[appId] = (now, instances);
        return instances;
    }

    private static bool IsAlive(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            // An entry of this process that is not in memory is left over from an earlier run with the same PID.
            return false;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private sealed class Registration(AppRegistry registry, AppInstance instance, string? file) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            registry.Remove(instance);
            if (file is not null)
            {
                try
                {
                    File.Delete(file);
                }
                catch (IOException)
                {
                    // Stale entries are ignored by readers once this process is gone.
                }
            }
        }
    }
}
