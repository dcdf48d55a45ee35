using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.State;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Actors;

/// <summary>An answer of the app to an actor call, read fully.</summary>
public sealed record ActorAppResponse(int StatusCode, byte[] Body, string? ContentType, IReadOnlyList<KeyValuePair<string, string[]>> Headers)
{
    public const string ErrorHeader = "X-DaprErrorResponseHeader";
    public const string ReminderCancelHeader = "X-DaprReminderCancel";

    public bool HasHeader(string name) => Headers.Any(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// One sidecar's side of the actor runtime: it discovers the app's actor types through
/// <c>GET /dapr/config</c>, registers them with the process's <see cref="ActorPlacement"/>, calls
/// the app (method, timer and reminder callbacks, deactivation) and deactivates its idle actors.
/// </summary>
public sealed class ActorHost
{
    public const string ReentrancyHeader = "Dapr-Reentrancy-Id";

    // Headers of the caller that are not forwarded to the app (hop-by-hop, or the caller's token).
    private static readonly HashSet<string> SkippedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Connection", "Transfer-Encoding", "Keep-Alive", "TE", "Upgrade", "Expect",
        "Proxy-Connection", "dapr-api-token", ReentrancyHeader,
    };

    private readonly AppChannel _channel;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _discovered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private Task? _stopped;

    internal ActorHost(SidecarContext sidecar, AppChannel channel, ActorPlacement placement, ILogger log)
    {
        Sidecar = sidecar;
        _channel = channel;
        Placement = placement;
        _log = log;
        Name = $"{sidecar.AppId}/{sidecar.Options.InstanceId}";
    }

    /// <summary>The host's name on the hash ring: app-id and instance id.</summary>
    public string Name { get; }

    public SidecarContext Sidecar { get; }

    internal ActorPlacement Placement { get; }

    /// <summary>What the app answered on <c>/dapr/config</c>; empty until then.</summary>
    public ActorAppConfig Config { get; private set; } = ActorAppConfig.None;

    /// <summary>Completes once the app's actor configuration is known (also when it hosts none).</summary>
    public Task Discovered => _discovered.Task;

    public bool IsStopped => _stopping.IsCancellationRequested;

    /// <summary>Cancelled when the sidecar stops: calls it received are abandoned (ERR_ACTOR_RUNTIME_CLOSED).</summary>
    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>The actor state store (<c>actorStateStore: "true"</c>) of this sidecar, or null.</summary>
    public IStateStore? StateStore => ActorStateStore.Find(Sidecar.Components)?.Store;

    public override string ToString() => Name;

    /// <summary>Starts discovery in the background (the app may start after its sidecar) and then the idle scan.</summary>
    public void Start()
    {
        if (_channel.IsConfigured && Sidecar.Options.AppProtocol.StartsWith("http", StringComparison.OrdinalIgnoreCase))
        {
            _loop = Task.Run(RunAsync);
        }
        else
        {
            _discovered.TrySetResult();
        }
    }

    /// <summary>Leaves the placement and deactivates the actors active here (within the drain timeout).</summary>
    public Task StopAsync()
    {
        lock (_stopping)
        {
            return _stopped ??= StopCoreAsync();
        }
    }

    private async Task StopCoreAsync()
    {
        await _stopping.CancelAsync();
        _discovered.TrySetResult();
        await Placement.RemoveHostAsync(this);
        if (_loop is not null)
        {
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
                // stopping
            }
        }
    }

    private async Task RunAsync()
    {
        var ct = _stopping.Token;
        try
        {
            Config = await DiscoverAsync(ct);
            if (Config.Types.Count > 0)
            {
                if (StateStore is null)
                {
                    _log.LogError(
                        "App '{AppId}' hosts actors ({Types}) but none of its state stores has metadata actorStateStore: \"true\": actor state and reminders will fail with ERR_ACTOR_RUNTIME_NOT_FOUND.",
                        Sidecar.AppId, string.Join(", ", Config.Types.Keys));
                }

                Placement.AddHost(this);
            }

            _discovered.TrySetResult();
            if (Config.Types.Count == 0)
            {
                return;
            }

            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(Config.ScanInterval, Sidecar.Runtime.Time, ct);
                await Placement.DeactivateIdleAsync(this, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // stopping
        }
        finally
        {
            _discovered.TrySetResult();
        }
    }

    /// <summary><c>GET /dapr/config</c>, retried until the app answers; 404 means "no actors".</summary>
    private async Task<ActorAppConfig> DiscoverAsync(CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "dapr/config");
                using var response = await _channel.SendAsync(request, ct);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return ActorAppConfig.None;
                }

                if (response.IsSuccessStatusCode)
                {
                    var body = await response.Content.ReadAsByteArrayAsync(ct);
                    try
                    {
                        return body.Length == 0 ? ActorAppConfig.None : ActorAppConfig.Parse(body);
                    }
                    catch (JsonException ex)
                    {
                        _log.LogWarning("App '{AppId}' answered /dapr/config with invalid JSON ({Error}); it hosts no actors.", Sidecar.AppId, ex.Message);
                        return ActorAppConfig.None;
                    }
                }

                _log.LogDebug("App '{AppId}' answered /dapr/config with {Status}; retrying.", Sidecar.AppId, (int)response.StatusCode);
            }
            catch (HttpRequestException ex) when (ex.InnerException is SocketException or IOException || ex.HttpRequestError is HttpRequestError.ConnectionError)
            {
                // The app is not listening yet.
            }

            await Task.Delay(delay, Sidecar.Runtime.Time, ct);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 500));
        }
    }

    /// <summary><c>PUT actors/{type}/{id}/method/{method}</c> with the caller's body and headers.</summary>
    internal Task<ActorAppResponse> InvokeMethodAsync(string type, string id, string method, ReadOnlyMemory<byte> body, string? contentType,
        IEnumerable<KeyValuePair<string, string[]>> headers, string? reentrancyId, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, MethodPath(type, id, method));
        foreach (var (name, values) in headers)
        {
            if (!SkippedHeaders.Contains(name) && !name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.TryAddWithoutValidation(name, values);
            }
        }

        request.Content = new ReadOnlyMemoryContent(body);
        if (!string.IsNullOrEmpty(contentType) && MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            request.Content.Headers.ContentType = media;
        }

        return SendAsync(request, reentrancyId, ct);
    }

    /// <summary>A timer or reminder callback: <c>PUT actors/{type}/{id}/method/{timer|remind}/{name}</c> with daprd's JSON body.</summary>
    internal Task<ActorAppResponse> InvokeCallbackAsync(string type, string id, string kind, string name, byte[] json, string? reentrancyId, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, MethodPath(type, id, kind) + "/" + Uri.EscapeDataString(name))
        {
            Content = new ByteArrayContent(json),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return SendAsync(request, reentrancyId, ct);
    }

    /// <summary><c>DELETE actors/{type}/{id}</c>: the app runs OnDeactivateAsync and forgets the instance.</summary>
    internal async Task DeactivateAsync(string type, string id, CancellationToken ct)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Delete, $"actors/{Uri.EscapeDataString(type)}/{Uri.EscapeDataString(id)}");
            using var response = await _channel.SendAsync(request, ct);
            if (!response.IsSuccessStatusCode)
            {
                _log.LogWarning("Deactivating actor {Type}/{Id} on app '{AppId}': the app answered {Status}.", type, id, Sidecar.AppId, (int)response.StatusCode);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            _log.LogDebug("Deactivating actor {Type}/{Id} on app '{AppId}' failed: {Error}", type, id, Sidecar.AppId, ex.Message);
        }
    }

    private static string MethodPath(string type, string id, string method) =>
        $"actors/{Uri.EscapeDataString(type)}/{Uri.EscapeDataString(id)}/method/{Uri.EscapeDataString(method)}";

    private async Task<ActorAppResponse> SendAsync(HttpRequestMessage request, string? reentrancyId, CancellationToken ct)
    {
        using (request)
        {
            if (reentrancyId is not null)
            {
                request.Headers.TryAddWithoutValidation(ReentrancyHeader, reentrancyId);
            }

            HttpResponseMessage response;
            try
            {
                response = await _channel.SendAsync(request, ct);
            }
            catch (HttpRequestException ex)
            {
                throw ActorErrors.Invoke($"error from actor service: {ex.Message}");
            }

            using (response)
            {
                var body = await response.Content.ReadAsByteArrayAsync(ct);
                var headers = new List<KeyValuePair<string, string[]>>();
                foreach (var (name, values) in response.Headers)
                {
                    if (!SkippedHeaders.Contains(name) && !name.Equals("Date", StringComparison.OrdinalIgnoreCase) && !name.Equals("Server", StringComparison.OrdinalIgnoreCase))
                    {
                        headers.Add(new(name, values.ToArray()));
                    }
                }

                return new ActorAppResponse((int)response.StatusCode, body, response.Content.Headers.ContentType?.ToString(), headers);
            }
        }
    }

    /// <summary>daprd's reading of a callback answer: 404 is "method not found", any other non-200 an error with the body.</summary>
    internal static void EnsureOk(ActorAppResponse response, string path)
    {
        if (response.StatusCode == (int)HttpStatusCode.NotFound)
        {
            throw ActorErrors.Invoke($"actor method not found: {path}");
        }

        if (response.StatusCode != (int)HttpStatusCode.OK)
        {
            throw ActorErrors.Invoke($"error from actor service: ({response.StatusCode}) {Encoding.UTF8.GetString(response.Body)}");
        }
    }
}
