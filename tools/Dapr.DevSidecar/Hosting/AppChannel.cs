namespace Dapr.DevSidecar.Hosting;

/// <summary>
/// The sidecar's channel to its HTTP app: requests go to
/// <c>http://{AppChannelAddress}:{AppPort}</c> and carry <c>dapr-api-token: {AppApiToken}</c>
/// when APP_API_TOKEN is configured, as daprd sends them. One per sidecar (registered in DI).
/// </summary>
public sealed class AppChannel : IDisposable
{
    public const string ApiTokenHeader = "dapr-api-token";

    private readonly HttpClient? _client;

    public AppChannel(SidecarOptions options)
    {
        Options = options;
        if (options.AppPort is { } port)
        {
            var handler = new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                // daprd does not follow redirects of the app; the caller sees them.
                AllowAutoRedirect = false,
                UseCookies = false,
            };
            _client = new HttpClient(handler)
            {
                BaseAddress = new Uri($"http://{options.AppChannelAddress}:{port}"),
                // Per-call deadlines come from the callers' cancellation tokens.
                Timeout = Timeout.InfiniteTimeSpan,
            };
        }
    }

    public SidecarOptions Options { get; }

    /// <summary>True when the app listens on a port (an app channel exists).</summary>
    public bool IsConfigured => _client is not null;

    /// <summary>The app's base address, e.g. <c>http://127.0.0.1:5000</c>.</summary>
    public Uri? BaseAddress => _client?.BaseAddress;

    /// <summary>
    /// Sends <paramref name="request"/> (whose URI may be relative to the app's base address)
    /// to the app, adding the app API token. Throws <see cref="InvalidOperationException"/>
    /// when the app has no port.
    /// </summary>
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        var client = _client ?? throw new InvalidOperationException($"app '{Options.AppId}' has no app port: the sidecar has no channel to it");
        if (!string.IsNullOrEmpty(Options.AppApiToken))
        {
            request.Headers.Remove(ApiTokenHeader);
            request.Headers.TryAddWithoutValidation(ApiTokenHeader, Options.AppApiToken);
        }

        return client.SendAsync(request, completion, cancellationToken);
    }

    public void Dispose() => _client?.Dispose();
}
