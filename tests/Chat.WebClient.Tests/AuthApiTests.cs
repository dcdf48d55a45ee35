using System.Net;
using System.Net.Http.Json;
using Chat.Domain;
using Chat.Gateway.WebClient;
using Chat.WebClient.Tests.Infrastructure;

namespace Chat.WebClient.Tests;

/// <summary>The gateway's JSON auth endpoints, which forward to directory through the gateway's sidecar.</summary>
[Trait("Area", "WebClient")]
[Collection(WebClientCollection.Name)]
public sealed class AuthApiTests(WebClientFixture system)
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(system.BaseUrl) };

    [Fact]
    public async Task Register_login_and_refresh_return_tokens_and_rotate_the_refresh_token()
    {
        var name = ChatPage.NewUserName("api");
        var registered = await PostOk("/api/auth/register", new RegisterBody(name, ChatPage.Password, "Api User", "web-1"));
        Assert.Equal(name, registered.UserName);
        Assert.Equal("Api User", registered.DisplayName);
        Assert.False(string.IsNullOrEmpty(registered.AccessToken));
        Assert.True(registered.AccessTokenExpiresAt > DateTimeOffset.UtcNow);
        Assert.True(registered.RefreshTokenExpiresAt > registered.AccessTokenExpiresAt);

        var login = await PostOk("/api/auth/login", new LoginBody(name, ChatPage.Password, "web-2"));
        Assert.Equal(registered.UserId, login.UserId);

        var refreshed = await PostOk("/api/auth/refresh", new RefreshBody(login.RefreshToken));
        Assert.Equal(registered.UserId, refreshed.UserId);
        Assert.NotEqual(login.RefreshToken, refreshed.RefreshToken);

        // The old refresh token stopped working (rotation).
        var reused = await _http.PostAsJsonAsync("/api/auth/refresh", new RefreshBody(login.RefreshToken));
        Assert.Equal(HttpStatusCode.Unauthorized, reused.StatusCode);
        Assert.Equal(ErrorCodes.Unauthenticated, (await reused.Content.ReadFromJsonAsync<ApiError>())!.Code);
    }

    [Fact]
    public async Task Errors_become_4xx_with_a_code_and_a_reason()
    {
        var name = ChatPage.NewUserName("dup");
        await PostOk("/api/auth/register", new RegisterBody(name, ChatPage.Password, null, "web-1"));

        var taken = await _http.PostAsJsonAsync("/api/auth/register", new RegisterBody(name, ChatPage.Password, null, "web-1"));
        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
        var takenError = (await taken.Content.ReadFromJsonAsync<ApiError>())!;
        Assert.Equal(ErrorCodes.UserNameTaken, takenError.Code);
        Assert.False(string.IsNullOrWhiteSpace(takenError.Message));

        var badName = await _http.PostAsJsonAsync("/api/auth/register", new RegisterBody("A!", ChatPage.Password, null, "web-1"));
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        Assert.Equal(ErrorCodes.InvalidUserName, (await badName.Content.ReadFromJsonAsync<ApiError>())!.Code);

        var wrongPassword = await _http.PostAsJsonAsync("/api/auth/login", new LoginBody(name, "not the password", "web-1"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrongPassword.StatusCode);
        Assert.Equal(ErrorCodes.Unauthenticated, (await wrongPassword.Content.ReadFromJsonAsync<ApiError>())!.Code);
    }

    [Fact]
    public async Task The_gateway_serves_the_web_client_and_its_bundle()
    {
        var index = await _http.GetStringAsync("/");
        Assert.Contains("<script src=\"app.js\"", index, StringComparison.Ordinal);
        var bundle = await _http.GetAsync("/app.js");
        Assert.Equal(HttpStatusCode.OK, bundle.StatusCode);
        Assert.Equal("text/javascript", bundle.Content.Headers.ContentType?.MediaType);
        // The SignalR client is bundled in, not loaded from a CDN.
        Assert.Contains("HubConnectionBuilder", await bundle.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("cdn", index, StringComparison.OrdinalIgnoreCase);
    }

    private async Task<AuthResult> PostOk<T>(string path, T body)
    {
        var response = await _http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return System.Text.Json.JsonSerializer.Deserialize<AuthResult>(text, System.Text.Json.JsonSerializerOptions.Web)!;
    }
}
