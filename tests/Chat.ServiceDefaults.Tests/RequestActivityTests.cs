using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Chat.ServiceDefaults.Tests;

/// <summary>
/// No Activity per request when nobody traces: ASP.NET Core starts one whenever its hosting
/// diagnostics category is enabled, and every outgoing call then starts a child to propagate it.
/// </summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class RequestActivityTests
{
    [Fact]
    public async Task A_request_runs_without_an_activity_by_default()
    {
        Assert.False(await RequestSeesActivityAsync([]));
    }

    [Fact]
    public async Task Naming_the_hosting_diagnostics_category_in_configuration_brings_its_records_and_activities_back()
    {
        Assert.True(await RequestSeesActivityAsync([$"--Logging:LogLevel:{ServiceDefaultsExtensions.HostingDiagnosticsCategory}=Information"]));
    }

    private static async Task<bool> RequestSeesActivityAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.SkipRequestActivitiesUnlessConfigured(builder.Configuration);
        await using var app = builder.Build();
        app.MapGet("/activity", () => Activity.Current is null ? "none" : "some");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        var answer = await http.GetStringAsync("/activity");
        await app.StopAsync();
        return answer == "some";
    }
}
