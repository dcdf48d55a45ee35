using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Dapr.DevSidecar.Api;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Actors;

/// <summary>
/// Calls between members: the actor call path of a process (route by the newest table, run
/// locally or forward to the owner, route again when the owner refuses) and the internal endpoint
/// other members forward to, which stands in for daprd's internal gRPC API (<c>CallActor</c>).
/// </summary>
public sealed partial class ActorCluster
{
    /// <summary>Header carrying the receiving member's token; only members of the cluster know it.</summary>
    internal const string TokenHeader = "dapr-dev-sidecar-member-token";

    /// <summary>Set on an answer of the internal endpoint that is the sidecar's own error, not the app's.</summary>
    private const string ErrorCodeHeader = "dapr-dev-sidecar-error-code";
    private const string GrpcStatusHeader = "dapr-dev-sidecar-grpc-status";
    private const string NotHereCode = "NOT_HERE";

    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Connection", "Transfer-Encoding", "Keep-Alive", "TE", "Upgrade", "Expect", "Proxy-Connection",
        "dapr-api-token", "Date", "Server", TokenHeader,
    };

    private readonly HttpMessageInvoker _http = new(new SocketsHttpHandler
    {
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        ConnectTimeout = TimeSpan.FromSeconds(2),
        UseProxy = false,
        AllowAutoRedirect = false,
    });

    private WebApplication? _server;

    private int ServerPort { get; set; }

    /// <summary>
    /// Invokes an actor method wherever the newest table places it: in this process through the
    /// placement (in the actor's turn), else forwarded to the owner's internal endpoint. An owner
    /// that does not take the call (its table moved on, it is draining, or its process is gone
    /// before the call was sent) is retried on the next table, up to the placement's wait timeout.
    /// </summary>
    internal async Task<ActorAppResponse> InvokeAsync(string type, string id, string method, ReadOnlyMemory<byte> body, string? contentType,
        IReadOnlyList<KeyValuePair<string, string[]>> headers, string? reentrancyId, CancellationToken ct)
    {
        await Started;
        var deadline = _placement.Time.GetUtcNow() + _placement.HostWaitTimeout;
        while (true)
        {
            var changed = Changed;
            if (Volatile.Read(ref _table).Owner(type, id) is { } owner)
            {
                try
                {
                    if (owner.Local is not null)
                    {
                        var (_, response) = await _placement.CallAsync(type, id, reentrancyId, onlyIfActive: false,
                            (host, reentrancy, token) => host.InvokeMethodAsync(type, id, method, body, contentType, headers, reentrancy, token), ct);
                        return response!;
                    }

                    if (await ForwardAsync(owner.Member, type, id, method, body, contentType, headers, reentrancyId, ct) is { } forwarded)
                    {
                        return forwarded;
                    }
                }
                catch (ActorNotHereException)
                {
                    // routed again below
                }
            }

            var left = deadline - _placement.Time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                throw ActorErrors.NoAddress(type + ActorStateStore.Separator + id);
            }

            // A new table, or a short pause when the owner refused under the same one (it may not have read it yet).
            await Task.WhenAny(changed, Task.Delay(TimeSpan.FromMilliseconds(Math.Min(50, left.TotalMilliseconds)), _placement.Time, ct));
            ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The host of this process that may run a turn of the actor now: waits while the table is locked; throws <see cref="ActorNotHereException"/> when another process owns it.</summary>
    internal async Task<ActorHost> LocalOwnerAsync(string type, string id, CancellationToken ct)
    {
        await Started;
        var deadline = _placement.Time.GetUtcNow() + _placement.HostWaitTimeout;
        while (true)
        {
            var changed = Changed;
            var table = Volatile.Read(ref _table);
            if (!table.Locked)
            {
                var owner = table.Owner(type, id);
                if (owner is { Local: { IsStopped: false } local })
                {
                    return local;
                }

                if (owner is not null)
                {
                    throw new ActorNotHereException(type, id);
                }
            }

            var left = deadline - _placement.Time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                throw ActorErrors.NoAddress(type + ActorStateStore.Separator + id);
            }

            try
            {
                await changed.WaitAsync(left, _placement.Time, ct);
            }
            catch (TimeoutException)
            {
                // once more, then fail
            }
        }
    }

    /// <summary>Inside the actor's turn: the table must still be unlocked and still name <paramref name="host"/>.</summary>
    internal ActorHost OwnerInTurn(string type, string id, ActorHost host)
    {
        var table = Volatile.Read(ref _table);
        if (table.Locked || host.IsStopped || table.Owner(type, id)?.Local != host)
        {
            throw new ActorNotHereException(type, id);
        }

        return host;
    }

    /// <summary>True when this process fires the actor's reminders now (it owns the actor under an unlocked table).</summary>
    internal bool OwnsLocally(string type, string id)
    {
        var table = Volatile.Read(ref _table);
        return !table.Locked && table.Owner(type, id)?.Local is { IsStopped: false };
    }

    /// <summary>Forwards a call to the owning member; null when it must be routed again (refused, or its process is gone before the call was sent).</summary>
    private async Task<ActorAppResponse?> ForwardAsync(ClusterMember member, string type, string id, string method, ReadOnlyMemory<byte> body, string? contentType,
        IReadOnlyList<KeyValuePair<string, string[]>> headers, string? reentrancyId, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put,
            $"http://127.0.0.1:{member.Port}/actors/{Uri.EscapeDataString(type)}/{Uri.EscapeDataString(id)}/method/{Uri.EscapeDataString(method)}");
        foreach (var (name, values) in headers)
        {
            if (!HopHeaders.Contains(name) && !name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.TryAddWithoutValidation(name, values);
            }
        }

        request.Headers.Remove(ActorHost.ReentrancyHeader);
        if (reentrancyId is not null)
        {
            request.Headers.TryAddWithoutValidation(ActorHost.ReentrancyHeader, reentrancyId);
        }

        request.Headers.TryAddWithoutValidation(TokenHeader, member.Token);
        request.Content = new ReadOnlyMemoryContent(body);
        if (!string.IsNullOrEmpty(contentType) && MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            request.Content.Headers.ContentType = media;
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConnectionError || ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
        {
            // Nothing was sent: the member is gone (the next table drops it) or not listening yet.
            return null;
        }
        catch (HttpRequestException ex)
        {
            // The member died during the call: the actor may have run, so this is not retried.
            throw ActorErrors.Invoke($"error from actor host {member.Id}: {ex.Message}");
        }

        using (response)
        {
            var answer = await response.Content.ReadAsByteArrayAsync(ct);
            if (response.Headers.TryGetValues(ErrorCodeHeader, out var codes))
            {
                var code = codes.First();
                if (code == NotHereCode)
                {
                    return null;
                }

                var grpc = response.Headers.TryGetValues(GrpcStatusHeader, out var s) && int.TryParse(s.First(), out var n) ? (StatusCode)n : StatusCode.Internal;
                throw new DaprApiException(code, Encoding.UTF8.GetString(answer), grpc, (int)response.StatusCode);
            }

            var result = new List<KeyValuePair<string, string[]>>();
            foreach (var (name, values) in response.Headers)
            {
                if (!HopHeaders.Contains(name))
                {
                    result.Add(new(name, values.ToArray()));
                }
            }

            return new ActorAppResponse((int)response.StatusCode, answer, response.Content.Headers.ContentType?.ToString(), result);
        }
    }

    /// <summary>The internal endpoint (loopback, HTTP/1.1): only members presenting this process's token may call it.</summary>
    private async Task StartServerAsync(CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http1);
            k.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
        });
        var app = builder.Build();
        app.MapPut("/actors/{actorType}/{actorId}/method/{method}", HandleAsync);
        await app.StartAsync(ct);
        var address = app.Urls.First();
        ServerPort = new Uri(address).Port;
        _server = app;
    }

    private async Task HandleAsync(HttpContext http, string actorType, string actorId, string method)
    {
        var given = http.Request.Headers[TokenHeader].ToString();
        if (given.Length == 0 || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(Token)))
        {
            http.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await http.Response.WriteAsync("only members of the actor placement may call this endpoint", http.RequestAborted);
            return;
        }

        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        var headers = http.Request.Headers.Select(h => new KeyValuePair<string, string[]>(h.Key, h.Value.Where(v => v is not null).ToArray()!)).ToList();
        var reentrancy = http.Request.Headers[ActorHost.ReentrancyHeader].ToString();
        try
        {
            var (_, response) = await _placement.CallAsync(actorType, actorId, reentrancy.Length == 0 ? null : reentrancy, onlyIfActive: false,
                (host, r, token) => host.InvokeMethodAsync(actorType, actorId, method, buffer.GetBuffer().AsMemory(0, (int)buffer.Length), http.Request.ContentType, headers, r, token),
                http.RequestAborted);
            http.Response.StatusCode = response!.StatusCode;
            foreach (var (name, values) in response.Headers)
            {
                http.Response.Headers[name] = values;
            }

            if (response.ContentType is not null)
            {
                http.Response.ContentType = response.ContentType;
            }

            http.Response.ContentLength = response.Body.Length;
            await http.Response.Body.WriteAsync(response.Body, http.RequestAborted);
        }
        catch (ActorNotHereException ex)
        {
            await WriteErrorAsync(http, StatusCodes.Status421MisdirectedRequest, NotHereCode, StatusCode.Unavailable, ex.Message);
        }
        catch (DaprApiException ex)
        {
            await WriteErrorAsync(http, ex.HttpStatus, ex.ErrorCode, ex.GrpcStatus, ex.Message);
        }
    }

    private static Task WriteErrorAsync(HttpContext http, int status, string code, StatusCode grpc, string message)
    {
        http.Response.StatusCode = status;
        http.Response.Headers[ErrorCodeHeader] = code;
        http.Response.Headers[GrpcStatusHeader] = ((int)grpc).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return http.Response.WriteAsync(message, http.RequestAborted);
    }

    private async Task StopServerAsync()
    {
        if (_server is not null)
        {
            await _server.StopAsync();
            await _server.DisposeAsync();
        }
    }
}
