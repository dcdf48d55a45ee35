using System.Security.Cryptography;
using System.Text;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Grpc.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chat.ServiceDefaults.Tests;

[Trait("Category", "Unit")]
[Trait("Area", "Conversations")]
public sealed class ChatTokenServiceTests
{
    private static readonly ChatUser Alice = new("uALICE0000000001", "phone-1", "alice");
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public void Issued_token_validates_back_to_the_same_user_with_the_expected_claims()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2025-03-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var tokens = new ChatTokenService(_key, time: time);

        var jwt = tokens.IssueAccessToken(Alice, out var expiresAt);

        Assert.Equal(time.GetUtcNow().AddMinutes(15), expiresAt);
        Assert.Equal(Alice, tokens.Validate(jwt));
        var parsed = new JsonWebToken(jwt);
        Assert.Equal("HS256", parsed.Alg);
        Assert.Equal("chat-dapr", parsed.Issuer);
        Assert.Equal(["chat-dapr"], parsed.Audiences);
        Assert.Equal(Alice.UserId, parsed.Subject);
        Assert.Equal(Alice.DeviceId, parsed.GetClaim("did").Value);
        Assert.Equal(Alice.UserName, parsed.GetClaim("name").Value);
        Assert.False(string.IsNullOrEmpty(parsed.Id));
        Assert.Equal(expiresAt.ToUnixTimeSeconds(), new DateTimeOffset(parsed.ValidTo).ToUnixTimeSeconds());
    }

    [Fact]
    public void Each_token_has_its_own_jti()
    {
        var tokens = new ChatTokenService(_key);
        var a = new JsonWebToken(tokens.IssueAccessToken(Alice, out _));
        var b = new JsonWebToken(tokens.IssueAccessToken(Alice, out _));
        Assert.NotEqual(a.Id, b.Id);
    }

    [Fact]
    public void Token_with_a_changed_payload_is_rejected()
    {
        var tokens = new ChatTokenService(_key);
        var parts = tokens.IssueAccessToken(Alice, out _).Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace(Alice.UserId, "uMALLORY00000001", StringComparison.Ordinal);
        var forged = $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";

        Assert.Null(tokens.Validate(forged));
    }

    [Fact]
    public void Token_with_a_changed_signature_is_rejected()
    {
        var tokens = new ChatTokenService(_key);
        var parts = tokens.IssueAccessToken(Alice, out _).Split('.');
        var signature = Base64UrlEncoder.DecodeBytes(parts[2]);
        signature[0] ^= 0x01;

        Assert.Null(tokens.Validate($"{parts[0]}.{parts[1]}.{Base64UrlEncoder.Encode(signature)}"));
    }

    [Fact]
    public void Token_signed_with_another_key_is_rejected()
    {
        var other = new ChatTokenService(RandomNumberGenerator.GetBytes(32));
        var tokens = new ChatTokenService(_key);

        Assert.Null(tokens.Validate(other.IssueAccessToken(Alice, out _)));
    }

    [Fact]
    public void A_validated_token_is_remembered_only_for_its_exact_text()
    {
        var tokens = new ChatTokenService(_key);
        var jwt = tokens.IssueAccessToken(Alice, out _);
        Assert.Equal(Alice, tokens.Validate(jwt));

        // One character changed in the payload or the signature of a token known to be good.
        var parts = jwt.Split('.');
        var payload = Base64UrlEncoder.Decode(parts[1]).Replace("alice", "alicf", StringComparison.Ordinal);
        Assert.Null(tokens.Validate($"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}"));
        var firstChar = parts[2][0] == 'A' ? 'B' : 'A';
        Assert.Null(tokens.Validate($"{parts[0]}.{parts[1]}.{firstChar}{parts[2][1..]}"));
        Assert.Equal(Alice, tokens.Validate(jwt));
    }

    [Fact]
    public void Expired_token_is_rejected_after_the_clock_skew_but_accepted_within_it()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        var tokens = new ChatTokenService(_key, new ChatAuthOptions { AccessTokenLifetime = TimeSpan.FromMinutes(15) }, time);
        var jwt = tokens.IssueAccessToken(Alice, out _);

        time.Advance(TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(20));
        Assert.Equal(Alice, tokens.Validate(jwt));

        time.Advance(TimeSpan.FromSeconds(15));
        Assert.Null(tokens.Validate(jwt));
    }

    [Theory]
    [InlineData("chat-dapr", "someone-else")]
    [InlineData("someone-else", "chat-dapr")]
    public void Token_for_another_audience_or_from_another_issuer_is_rejected(string issuer, string audience)
    {
        var tokens = new ChatTokenService(_key);
        var jwt = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Expires = DateTime.UtcNow.AddMinutes(5),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(_key), SecurityAlgorithms.HmacSha256),
            Claims = new Dictionary<string, object> { ["sub"] = Alice.UserId, ["did"] = Alice.DeviceId, ["name"] = Alice.UserName },
        });

        Assert.Null(tokens.Validate(jwt));
    }

    [Fact]
    public void Unsigned_token_is_rejected()
    {
        var tokens = new ChatTokenService(_key);
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        var exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        var payload = Base64UrlEncoder.Encode($$"""{"iss":"chat-dapr","aud":"chat-dapr","sub":"{{Alice.UserId}}","did":"d","name":"alice","exp":{{exp}}}""");

        Assert.Null(tokens.Validate($"{header}.{payload}."));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c")]
    public void Malformed_token_is_rejected(string token)
    {
        Assert.Null(new ChatTokenService(_key).Validate(token));
    }

    [Fact]
    public void Token_without_a_device_claim_is_rejected()
    {
        var tokens = new ChatTokenService(_key);
        var jwt = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "chat-dapr",
            Audience = "chat-dapr",
            Expires = DateTime.UtcNow.AddMinutes(5),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(_key), SecurityAlgorithms.HmacSha256),
            Claims = new Dictionary<string, object> { ["sub"] = Alice.UserId, ["name"] = Alice.UserName },
        });

        Assert.Null(tokens.Validate(jwt));
    }

    [Fact]
    public void A_service_without_its_key_refuses_to_issue_and_reports_not_ready()
    {
        var tokens = new ChatTokenService(Microsoft.Extensions.Options.Options.Create(new ChatAuthOptions()));
        Assert.False(tokens.IsReady);
        Assert.Throws<InvalidOperationException>(() => tokens.IssueAccessToken(Alice, out _));

        tokens.SetSigningKey(_key);
        Assert.True(tokens.IsReady);
        Assert.Equal(Alice, tokens.Validate(tokens.IssueAccessToken(Alice, out _)));
    }

    [Fact]
    public void Signing_key_shorter_than_32_bytes_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new ChatTokenService(new byte[31]));
    }

    [Fact]
    public void Signing_key_secret_is_read_as_base64_or_as_raw_text()
    {
        var bytes = RandomNumberGenerator.GetBytes(48);
        Assert.Equal(bytes, ChatSigningKeys.Parse(Convert.ToBase64String(bytes)));

        const string raw = "this is a raw text key of more than thirty-two bytes";
        Assert.Equal(Encoding.UTF8.GetBytes(raw), ChatSigningKeys.Parse(raw));

        var ex = Assert.Throws<InvalidOperationException>(() => ChatSigningKeys.Parse("short"));
        Assert.Contains("at least 32 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validation_errors_map_to_status_codes_with_the_code_in_a_trailer()
    {
        var invalid = ChatStatus.From(ChatValidation.GroupTitle("")!);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Equal(ErrorCodes.InvalidTitle, invalid.ErrorCode());
        Assert.Contains("group title", invalid.Status.Detail, StringComparison.Ordinal);

        var full = ChatStatus.From(ChatValidation.GroupSize(500, 1, 500)!);
        Assert.Equal(StatusCode.FailedPrecondition, full.StatusCode);
        Assert.Equal(ErrorCodes.GroupFull, full.ErrorCode());

        var notMember = ChatStatus.NotMember("grp:abc");
        Assert.Equal(StatusCode.PermissionDenied, notMember.StatusCode);
        Assert.Equal(ErrorCodes.NotMember, notMember.ErrorCode());
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
