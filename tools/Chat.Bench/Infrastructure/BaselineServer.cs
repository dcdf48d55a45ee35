using System.Net;
using System.Net.WebSockets;
using Chat.Gateway.Hubs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chat.Bench.Infrastructure;

/// <summary>
/// The baselines, on one Kestrel server: a bare SignalR relay hub at <c>/relay</c> (no Dapr, in
/// memory, the same message shape as the chat hub) and a raw WebSocket echo at <c>/ws</c>.
/// </summary>
public sealed class BaselineServer : IAsyncDisposable
{
    public const string RelayPath = "/relay";
    public const string EchoPath = "/ws";

    private readonly WebApplication _app;

    private BaselineServer(WebApplication app, int port)
    {
        _app = app;
        Url = $"http://127.0.0.1:{port}";
    }

    public string Url { get; }

    public static async Task<BaselineServer> StartAsync(int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSignalR(o => o.MaximumReceiveMessageSize = Chat.Gateway.GatewayServices.MaxHubMessageBytes).AddMessagePackProtocol();
        builder.Services.AddSingleton<IUserIdProvider, QueryUserIdProvider>();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.UseWebSockets();
        app.Map(EchoPath, EchoAsync);
        app.MapHub<RelayHub>(RelayPath);
        await app.StartAsync();
        var bound = new Uri(app.Urls.First()).Port;
        return new BaselineServer(app, bound);
    }

    private static async Task EchoAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, context.RequestAborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return;
                }

                await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, context.RequestAborted);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The client went away: nothing to echo.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class QueryUserIdProvider : IUserIdProvider
    {
        public string? GetUserId(HubConnectionContext connection) => connection.GetHttpContext()?.Request.Query["user"];
    }
}

/// <summary>A bare relay hub: what the chat hub does, minus Dapr, storage and routing.</summary>
public sealed class RelayHub : Hub<IChatClient>
{
    private static long _seq;

    public Task JoinGroup(string conversationId) => Groups.AddToGroupAsync(Context.ConnectionId, conversationId);

    public async Task<MessageAcceptedDto> SendMessage(SendMessageArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var seq = (ulong)Interlocked.Increment(ref _seq);
        var sender = Context.UserIdentifier ?? "";
        var message = new MessageDto(args.ConversationId ?? args.PeerUserId ?? "", seq, seq.ToString(System.Globalization.CultureInfo.InvariantCulture),
            sender, "dev1", args.ClientMsgId ?? "", args.Text ?? "", null, 0, false, DateTimeOffset.UtcNow);
        if (!string.IsNullOrEmpty(args.ConversationId))
        {
            await Clients.OthersInGroup(args.ConversationId).MessageReceived(message);
        }
        else if (!string.IsNullOrEmpty(args.PeerUserId))
        {
            await Clients.User(args.PeerUserId).MessageReceived(message);
        }

        var accepted = new MessageAcceptedDto(message.ClientMsgId, message, false);
        await Clients.Caller.MessageAccepted(accepted);
        return accepted;
    }
}
