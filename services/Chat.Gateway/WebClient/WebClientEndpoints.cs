namespace Chat.Gateway.WebClient;

/// <summary>The browser client: static files from wwwroot (index.html, the esbuild bundle app.js) and its JSON auth API.</summary>
public static class WebClientEndpoints
{
    public static WebApplication MapWebClient(this WebApplication app)
    {
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapAuthEndpoints();
        app.MapPushKey();
        return app;
    }
}
