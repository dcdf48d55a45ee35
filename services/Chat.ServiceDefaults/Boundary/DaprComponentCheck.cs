using Chat.Domain;
using Dapr;
using Dapr.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chat.ServiceDefaults.Boundary;

/// <summary>
/// At start-up, asks the sidecar which components it loaded and logs an error for each one this
/// app uses (<see cref="DaprUsage"/>) that is missing: a component whose <c>scopes</c> leave the
/// app out fails every call to it, and this says why before the first call does.
/// </summary>
public sealed partial class DaprComponentCheck(DaprClient dapr, IConfiguration configuration, ILogger<DaprComponentCheck> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (DaprUsage.Of(configuration["APP_ID"]) is not { } usage)
        {
            return;
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            await dapr.WaitForSidecarAsync(timeout.Token);
            var metadata = await dapr.GetMetadataAsync(timeout.Token);
            var loaded = metadata.Components.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var missing in usage.Components.Where(c => !loaded.Contains(c)))
            {
                LogMissing(log, usage.AppId, missing);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or DaprException or HttpRequestException)
        {
            if (!stoppingToken.IsCancellationRequested)
            {
                LogUnchecked(log, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "App '{AppId}' uses component '{Component}', but its sidecar has not loaded it: check the component's scopes")]
    private static partial void LogMissing(ILogger logger, string appId, string component);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not check the sidecar's components")]
    private static partial void LogUnchecked(ILogger logger, Exception ex);
}
