using Chat.ServiceDefaults.Boundary;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Chat.ServiceDefaults;

/// <summary>The cross-cutting setup every Chat.Dapr service calls first.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Liveness: the process answers. This is the path Dapr's app health check polls.</summary>
    public const string LivenessPath = "/healthz";

    /// <summary>Readiness: the process and its Dapr sidecar are both up.</summary>
    public const string ReadinessPath = "/health/ready";

    /// <summary>The tag of health checks that only readiness (not liveness) runs.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Adds OpenTelemetry, health checks (self and the Dapr sidecar) and HTTP resilience defaults.</summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.Logging.SkipRequestActivitiesUnlessConfigured(builder.Configuration);

        builder.Services.AddHttpClient(DaprSidecarHealthCheck.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(2));
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy())
            .AddCheck<DaprSidecarHealthCheck>("dapr-sidecar", tags: [ReadyTag]);

        builder.Services.ConfigureHttpClientDefaults(http => http.AddStandardResilienceHandler());
        builder.Services.AddChatDaprClient(builder.Configuration);
        builder.Services.AddHostedService<DaprComponentCheck>();
        return builder;
    }

    /// <summary>
    /// Traces, metrics and logs, exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set. Without
    /// a collector nothing is instrumented: spans and metrics that nobody reads cost every hop of
    /// every message (the profiles in docs/benchmarks.md), and the app's own meters stay readable
    /// by dotnet-counters either way.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            return builder;
        }

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(ChatTelemetry.MeterName))
            .WithTracing(tracing => tracing
                .AddSource(ChatTelemetry.ActivitySourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx =>
                    !ctx.Request.Path.StartsWithSegments(LivenessPath, StringComparison.Ordinal)
                    && !ctx.Request.Path.StartsWithSegments(ReadinessPath, StringComparison.Ordinal))
                .AddGrpcClientInstrumentation()
                .AddHttpClientInstrumentation())
            .UseOtlpExporter();
        return builder;
    }

    /// <summary>
    /// ASP.NET Core starts an <see cref="System.Diagnostics.Activity"/> for every request whenever
    /// its hosting diagnostics category is enabled at any level, even with nobody tracing, and
    /// every outgoing HttpClient and gRPC call under it then starts a child activity to propagate
    /// it: per-request work on every hop of every message (docs/benchmarks.md, ninth pass). That
    /// category writes only Information and Debug records (request start and end), which the
    /// Warning default drops anyway, so it is turned off unless the configuration names it.
    /// With OpenTelemetry on, its listeners still get their activities.
    /// </summary>
    public static ILoggingBuilder SkipRequestActivitiesUnlessConfigured(this ILoggingBuilder logging, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(logging);
        ArgumentNullException.ThrowIfNull(configuration);
        if (configuration[$"Logging:LogLevel:{HostingDiagnosticsCategory}"] is null)
        {
            logging.AddFilter(HostingDiagnosticsCategory, LogLevel.None);
        }

        return logging;
    }

    /// <summary>The logging category of ASP.NET Core's per-request diagnostics.</summary>
    public const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>
    /// Maps <see cref="LivenessPath"/> and <see cref="ReadinessPath"/>, and puts
    /// <see cref="SidecarBoundaryMiddleware"/> in front of everything the app maps: callbacks
    /// only from the sidecar (its app token, on its app port), client endpoints only on the others.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        if (!((IApplicationBuilder)app).Properties.TryAdd(typeof(SidecarBoundaryMiddleware).FullName!, true))
        {
            return app;
        }

        app.UseMiddleware<SidecarBoundaryMiddleware>();
        // Liveness must not depend on the sidecar: daprd's own readiness waits on the app's health.
        app.MapHealthChecks(LivenessPath, new HealthCheckOptions { Predicate = check => !check.Tags.Contains(ReadyTag) });
        app.MapHealthChecks(ReadinessPath);
        return app;
    }
}
