using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Chat.ServiceDefaults.Auth;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chat.Integration.Tests.Security;

/// <summary>
/// One running system (every app, embedded components, tokens on) shared by the security tests,
/// with three users: Alice owns a group that Bob belongs to and Carol does not.
/// </summary>
public sealed class SecuritySystem : IAsyncLifetime
{
    public const string Password = "correct horse battery";

    public ChatSystem System { get; private set; } = null!;

    public TestUser Alice { get; private set; } = null!;

    public TestUser Bob { get; private set; } = null!;

    public TestUser Carol { get; private set; } = null!;

    /// <summary>A fourth user, added to and removed from groups by the matrix.</summary>
    public TestUser Dave { get; private set; } = null!;

    /// <summary>The conversation of Alice's group (Alice owner, Bob member), with one message in it.</summary>
    public string GroupId { get; private set; } = "";

    /// <summary>The group id of that group (directory's group calls take it).</summary>
    public string GroupKey { get; private set; } = "";

    /// <summary>Alice's token, expired an hour ago (right key, issuer and audience).</summary>
    public string ExpiredToken { get; private set; } = "";

    /// <summary>Alice's claims signed with another key.</summary>
    public string ForgedToken { get; private set; } = "";

    /// <summary>Alice's claims, right key and issuer, but for another audience.</summary>
    public string OtherAudienceToken { get; private set; } = "";

    /// <summary>Where the matrix's bots' webhooks point (never called: no bots app runs here).</summary>
    public const string WebhookBase = "http://127.0.0.1:9/hooks/";

    /// <summary>A sidecar with app-id bots and no app, for the bots-only methods' allowed caller.</summary>
    public Dapr.DevSidecar.Hosting.RunningSidecar BotsSidecar { get; private set; } = null!;

    /// <summary>The DAPR_API_TOKEN of <see cref="BotsSidecar"/>.</summary>
    public string BotsApiToken { get; } = SidecarTokens.New();

    /// <summary>A bot Alice owns.</summary>
    public string BotId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        System = await ChatHarness.InProcessAsync(new()
        {
            Settings = new Dictionary<string, string?> { ["Chat:Bots:AllowedWebhookPrefixes:0"] = WebhookBase },
            Apps = ChatHarnessOptions.AllApps,
        });
        BotsSidecar = await System.StartSidecarAsync(DaprNames.Apps.Bots, apiToken: BotsApiToken);
        Alice = await System.RegisterAsync();
        Bob = await System.RegisterAsync();
        Carol = await System.RegisterAsync();
        Dave = await System.RegisterAsync();
        (GroupKey, GroupId) = await NewGroupAsync();
        await Alice.SendAsync(GroupId, "hello");
        var bots = new BotService.BotServiceClient(System.InvokerFor(DaprNames.Apps.Directory, Alice.AccessToken));
        BotId = (await bots.CreateBotAsync(new CreateBotRequest { UserName = "mbot" + Guid.NewGuid().ToString("N")[..8], WebhookUrl = WebhookBase + "matrix" })).Bot.Profile.UserId;

        var key = ChatSigningKeys.Parse(ChatRun.JwtKey);
        var alice = new ChatUser(Alice.UserId, "dev1", Alice.UserName);
        ExpiredToken = new ChatTokenService(key, time: new ShiftedTime(TimeSpan.FromHours(-1))).IssueAccessToken(alice, out _);
        ForgedToken = new ChatTokenService(new byte[32]).IssueAccessToken(alice, out _);
        OtherAudienceToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = ChatAuthOptions.IssuerAndAudience,
            Audience = "another-service",
            IssuedAt = DateTime.UtcNow,
            NotBefore = DateTime.UtcNow,
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256),
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = alice.UserId,
                [ChatTokenService.DeviceClaim] = alice.DeviceId,
                [ChatTokenService.NameClaim] = alice.UserName,
            },
        });
    }

    /// <summary>A new group: Alice owner, Bob and Dave members. Returns its group id and conversation id.</summary>
    public async Task<(string GroupId, string ConversationId)> NewGroupAsync()
    {
        var request = new CreateGroupRequest { Title = "matrix" };
        request.MemberIds.Add(Bob.UserId);
        request.MemberIds.Add(Dave.UserId);
        var group = (await Alice.Directory.CreateGroupAsync(request)).Group;
        return (group.GroupId, group.ConversationId);
    }

    /// <summary>Logs Alice in again: a fresh refresh token.</summary>
    public async Task<AuthTokens> LoginAliceAsync()
    {
        var anonymous = new DirectoryService.DirectoryServiceClient(System.InvokerFor(DaprNames.Apps.Directory));
        return (await anonymous.LoginAsync(new LoginRequest { UserName = Alice.UserName, Password = Password, DeviceId = "dev1" })).Tokens;
    }

    public async Task DisposeAsync() => await System.DisposeAsync();

    private sealed class ShiftedTime(TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow + shift;
    }
}

[CollectionDefinition(Name)]
public sealed class SecurityCollection : ICollectionFixture<SecuritySystem>
{
    public const string Name = "security";
}
