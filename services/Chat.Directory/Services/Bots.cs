using System.Security.Cryptography;
using Chat.Contracts.V1;
using Chat.Directory.State;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Chat.Directory.Services;

/// <summary>Bot settings, bound from <c>Chat:Bots</c>.</summary>
public sealed class BotOptions
{
    public const string SectionName = "Chat:Bots";

    /// <summary>
    /// URL prefixes a webhook must start with (same scheme, host and port; path under the
    /// prefix's path). Empty: no bot can be created. Each should be the base URL of the bots
    /// app's <c>bot-webhooks</c> binding, which is the only way out to webhooks.
    /// </summary>
    public List<string> AllowedWebhookPrefixes { get; set; } = [];

    /// <summary>Most bots one user may own.</summary>
    public int MaxBotsPerUser { get; set; } = 10;
}

/// <summary>Bot accounts: creation with a webhook, listing and deletion by their owner; lookups for the bots app.</summary>
public sealed class Bots(DirectoryCore core, Accounts accounts, ChatTokenService tokens, IOptionsMonitor<BotOptions> options)
{
    /// <summary>The device id written into bot access tokens.</summary>
    public const string BotDeviceId = "webhook";

    public async Task<CreateBotResponse> CreateAsync(ChatUser owner, CreateBotRequest request, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.UserName(request.UserName));
        if (request.DisplayName.Length > 0)
        {
            ChatStatus.ThrowIfInvalid(ChatValidation.DisplayName(request.DisplayName));
        }

        var webhook = AllowedWebhook(request.WebhookUrl, options.CurrentValue.AllowedWebhookPrefixes);
        var me = await core.RequireUserAsync(owner.UserId, ct);
        if (me.Bot is not null)
        {
            throw ChatStatus.PermissionDenied("A bot cannot own bots.", ErrorCodes.PermissionDenied);
        }

        var bot = new UserRecord
        {
            UserId = Ids.NewBotId(),
            UserName = request.UserName,
            DisplayName = request.DisplayName.Length > 0 ? request.DisplayName : request.UserName,
            CreatedAt = core.Now,
            Bot = new BotRecord { OwnerId = owner.UserId, WebhookUrl = webhook, SigningSecret = Base64Url(RandomNumberGenerator.GetBytes(32)) },
        };

        // The index slot first (it enforces the cap), then the account; a failed insert gives the slot back.
        var max = options.CurrentValue.MaxBotsPerUser;
        await core.State.MutateAsync<BotsIndexRecord, bool>(DirectoryKeys.Bots(owner.UserId), index =>
        {
            index ??= new BotsIndexRecord();
            if (index.BotIds.Count >= max)
            {
                throw ChatStatus.Create(StatusCode.FailedPrecondition, ErrorCodes.BotLimit, $"You own {index.BotIds.Count} bots, the most allowed ({max}); delete one first.");
            }

            index.BotIds.Add(bot.UserId);
            return new(index, true);
        }, ct);
        try
        {
            await accounts.InsertUserAsync(bot, ct);
        }
        catch
        {
            await RemoveFromIndexAsync(owner.UserId, bot.UserId, CancellationToken.None);
            throw;
        }

        return new CreateBotResponse { Bot = ToBot(bot), SigningSecret = bot.Bot.SigningSecret };
    }

    public async Task<ListBotsResponse> ListAsync(ChatUser owner, CancellationToken ct)
    {
        var index = (await core.State.GetAsync<BotsIndexRecord>(DirectoryKeys.Bots(owner.UserId), ct)).Value;
        var ids = index?.BotIds ?? [];
        var users = await core.GetUsersAsync(ids, ct);
        return new ListBotsResponse { Bots = { ids.Where(users.ContainsKey).Select(id => ToBot(users[id])) } };
    }

    public async Task<DeleteBotResponse> DeleteAsync(ChatUser owner, DeleteBotRequest request, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.BotUserId, "bot_user_id"));
        var bot = (await core.State.GetAsync<UserRecord>(DirectoryKeys.User(request.BotUserId), ct)).Value;
        if (bot?.Bot is null || bot.Bot.OwnerId != owner.UserId)
        {
            return new DeleteBotResponse { Deleted = false };
        }

        // The account first: from then on GetBotWebhooks no longer finds it, so nothing more is sent.
        await core.State.DeleteAsync(DirectoryKeys.User(bot.UserId), ct);
        await core.State.DeleteAsync(DirectoryKeys.UserName(bot.UserName), ct);
        await RemoveFromIndexAsync(owner.UserId, bot.UserId, ct);
        return new DeleteBotResponse { Deleted = true };
    }

    public async Task<GetBotWebhooksResponse> GetWebhooksAsync(GetBotWebhooksRequest request, CancellationToken ct)
    {
        var ids = DirectoryCore.ValidUserIds(request.UserIds, ChatLimits.MaxBatchUsers, "user ids");
        var users = await core.GetUsersAsync(ids.Where(id => id.StartsWith('b')).ToList(), ct);
        return new GetBotWebhooksResponse
        {
            Webhooks =
            {
                users.Values.Where(u => u.Bot is not null).Select(u => new BotWebhook
                {
                    BotUserId = u.UserId,
                    UserName = u.UserName,
                    WebhookUrl = u.Bot!.WebhookUrl,
                    SigningSecret = u.Bot.SigningSecret,
                    OwnerId = u.Bot.OwnerId,
                }),
            },
        };
    }

    public async Task<IssueBotTokenResponse> IssueTokenAsync(IssueBotTokenRequest request, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.BotUserId, "bot_user_id"));
        var bot = await core.RequireUserAsync(request.BotUserId, ct);
        if (bot.Bot is null)
        {
            throw ChatStatus.PermissionDenied($"User '{bot.UserId}' is not a bot.", ErrorCodes.PermissionDenied);
        }

        var token = tokens.IssueAccessToken(new ChatUser(bot.UserId, BotDeviceId, bot.UserName), out var expires);
        return new IssueBotTokenResponse { AccessToken = token, ExpiresAt = Timestamp.FromDateTimeOffset(expires) };
    }

    /// <summary>
    /// The webhook URL in its normal form when it lies under one of <paramref name="prefixes"/>
    /// (same scheme, host and port, path under the prefix's path); INVALID_ARGUMENT otherwise.
    /// </summary>
    public static string AllowedWebhook(string? url, IReadOnlyCollection<string> prefixes)
    {
        if (string.IsNullOrEmpty(url) || url.Length > 2048 || !Uri.TryCreate(url, UriKind.Absolute, out var uri)
            || uri.Scheme is not ("https" or "http") || uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            throw Invalid("webhook_url must be an absolute http(s) URL of at most 2048 characters, without user info or fragment.");
        }

        foreach (var prefix in prefixes)
        {
            if (Uri.TryCreate(prefix, UriKind.Absolute, out var allowed)
                && allowed.Scheme == uri.Scheme && allowed.IdnHost == uri.IdnHost && allowed.Port == uri.Port
                && uri.AbsolutePath.StartsWith(allowed.AbsolutePath.EndsWith('/') ? allowed.AbsolutePath : allowed.AbsolutePath + "/", StringComparison.Ordinal))
            {
                return uri.AbsoluteUri;
            }
        }

        throw Invalid(prefixes.Count == 0
            ? "This deployment allows no bot webhooks (Chat:Bots:AllowedWebhookPrefixes is empty)."
            : $"webhook_url must start with one of: {string.Join(", ", prefixes)}.");

        static RpcException Invalid(string message) => ChatStatus.Create(StatusCode.InvalidArgument, ErrorCodes.InvalidWebhookUrl, message);
    }

    private Task RemoveFromIndexAsync(string ownerId, string botId, CancellationToken ct) =>
        core.State.MutateAsync<BotsIndexRecord, bool>(DirectoryKeys.Bots(ownerId), index =>
            index is not null && index.BotIds.Remove(botId) ? new(index, true) : new(null, false), ct);

    private Bot ToBot(UserRecord user) => new() { Profile = core.ToProfile(user), OwnerId = user.Bot!.OwnerId, WebhookUrl = user.Bot.WebhookUrl };

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary><c>chat.v1.BotService</c>: a user's own bots (through the gateway, with the user's token).</summary>
public sealed class BotGrpcService(Bots bots) : BotService.BotServiceBase
{
    public override Task<CreateBotResponse> CreateBot(CreateBotRequest request, ServerCallContext context) =>
        bots.CreateAsync(context.GetChatUser(), request, context.CancellationToken);

    public override Task<ListBotsResponse> ListBots(ListBotsRequest request, ServerCallContext context) =>
        bots.ListAsync(context.GetChatUser(), context.CancellationToken);

    public override Task<DeleteBotResponse> DeleteBot(DeleteBotRequest request, ServerCallContext context) =>
        bots.DeleteAsync(context.GetChatUser(), request, context.CancellationToken);
}

/// <summary><c>chat.v1.BotInternalService</c>: only the bots app may call it (see <see cref="DirectoryServices"/>).</summary>
public sealed class BotInternalGrpcService(Bots bots) : BotInternalService.BotInternalServiceBase
{
    public override Task<GetBotWebhooksResponse> GetBotWebhooks(GetBotWebhooksRequest request, ServerCallContext context) =>
        bots.GetWebhooksAsync(request, context.CancellationToken);

    public override Task<IssueBotTokenResponse> IssueBotToken(IssueBotTokenRequest request, ServerCallContext context) =>
        bots.IssueTokenAsync(request, context.CancellationToken);
}
