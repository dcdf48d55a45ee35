using Chat.Contracts.V1;
using Chat.Domain;

namespace Chat.Gateway.Hubs;

/// <summary>Arguments of CreateBot: the bot's user name (mentioned as @userName), display name and webhook URL.</summary>
public sealed record CreateBotArgs(string? UserName, string? WebhookUrl, string? DisplayName = null);

/// <summary>A bot the caller owns.</summary>
public sealed record BotDto(string UserId, string UserName, string DisplayName, string WebhookUrl);

/// <summary>CreateBot's result: the bot and its webhook signing secret, which is never shown again.</summary>
public sealed record CreatedBotDto(BotDto Bot, string SigningSecret);

/// <summary>The caller's bots (outgoing webhooks; see README "Writing a bot").</summary>
public sealed partial class ChatHub
{
    /// <summary>Creates a bot owned by the caller; the result carries the webhook signing secret, shown this once only.</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidUserName, ErrorCodes.InvalidDisplayName, ErrorCodes.UserNameTaken, ErrorCodes.InvalidWebhookUrl, ErrorCodes.BotLimit, ErrorCodes.PermissionDenied)]
    [RateLimit(HubRatePolicies.Bots)]
    public async Task<CreatedBotDto> CreateBot(CreateBotArgs args, BotService.BotServiceClient bots)
    {
        if (args is null)
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "CreateBot needs {userName, webhookUrl, displayName?}.");
        }

        var response = await Call(() => bots.CreateBotAsync(
            new CreateBotRequest { UserName = args.UserName ?? "", WebhookUrl = args.WebhookUrl ?? "", DisplayName = args.DisplayName ?? "" }, Headers()).ResponseAsync);
        return new CreatedBotDto(ToDto(response.Bot), response.SigningSecret);
    }

    /// <summary>The caller's bots, oldest first (without their secrets).</summary>
    [HubErrorCodes()]
    [RateLimit(HubRatePolicies.Read)]
    public async Task<IReadOnlyList<BotDto>> ListBots(BotService.BotServiceClient bots)
    {
        var response = await Call(() => bots.ListBotsAsync(new ListBotsRequest(), Headers()).ResponseAsync);
        return response.Bots.Select(ToDto).ToList();
    }

    /// <summary>Deletes one of the caller's bots; false when the caller owns no such bot.</summary>
    [HubErrorCodes(ErrorCodes.InvalidId)]
    [RateLimit(HubRatePolicies.Bots)]
    public async Task<bool> DeleteBot(string botUserId, BotService.BotServiceClient bots)
    {
        RequireId(botUserId, "botUserId");
        var response = await Call(() => bots.DeleteBotAsync(new DeleteBotRequest { BotUserId = botUserId }, Headers()).ResponseAsync);
        return response.Deleted;
    }

    private static BotDto ToDto(Bot b) => new(b.Profile.UserId, b.Profile.UserName, b.Profile.DisplayName, b.WebhookUrl);
}
