using System.Runtime.InteropServices;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Cli;

public static partial class SidecarCli
{
    private static readonly TimeSpan AppStopGrace = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan AppStartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Ctrl+C (SIGINT), SIGTERM and SIGQUIT cancel <paramref name="stop"/> instead of ending the process at once.</summary>
    private static IDisposable StopOnSignals(CancellationTokenSource stop)
    {
        void Handle(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }

        var registrations = new List<PosixSignalRegistration>
        {
            PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGQUIT, Handle),
        };
        return new Registrations(registrations);
    }

    private sealed class Registrations(List<PosixSignalRegistration> items) : IDisposable
    {
        public void Dispose() => items.ForEach(r => r.Dispose());
    }

    /// <summary>
    /// Single-app mode with a command: starts the app with the CLI's environment, waits for it,
    /// and stops it when the sidecar stops. If the app exits first, its exit code is returned.
    /// </summary>
    private static async Task<int> RunAppCommandAsync(SidecarOptions options, RunningSidecar sidecar, List<string> command, string? appDir, ILoggerFactory loggerFactory, CancellationToken stop)
    {
        var log = loggerFactory.CreateLogger("dapr-dev-sidecar");
        var env = AppProcess.Environment(options, sidecar);
        await using var app = AppProcess.Start(options.AppId, command, appDir, env);
        log.LogInformation("Started app '{AppId}' (pid {Pid}): {Command}", options.AppId, app.Pid, string.Join(' ', command));
        if (await app.WaitHealthyAsync(options, AppStartTimeout, stop))
        {
            log.LogInformation("You're up and running! Both Dapr and your app logs will appear here.");
        }

        await Task.WhenAny(app.Exited, Task.Delay(Timeout.Infinite, stop), sidecar.ShutdownRequested);
        if (app.Exited.IsCompleted)
        {
            var code = await app.Exited;
            log.LogInformation("App '{AppId}' exited with code {Code}; stopping the sidecar.", options.AppId, code);
            return code;
        }

        log.LogInformation("Stopping app '{AppId}'.", options.AppId);
        await app.StopAsync(AppStopGrace);
        return 0;
    }

    /// <summary>
    /// <c>run -f dapr.yaml</c>: one sidecar per app (and per replica) in this process, so
    /// in-memory components are shared; each app command started with the CLI's environment.
    /// Stops everything on Ctrl+C / SIGTERM: apps first, then sidecars.
    /// </summary>
    private static async Task<int> RunFileAsync(string[] args, ILoggerFactory loggerFactory)
    {
        string? path = null;
        var separate = false;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--sidecar-processes")
            {
                separate = true;
                continue;
            }

            path = args[i] switch
            {
                "-f" or "--run-file" when i + 1 < args.Length => args[++i],
                "-f" or "--run-file" => throw new ArgumentException($"{args[i]} needs the path of a run file"),
                _ => throw new ArgumentException($"unknown option '{args[i]}' for run.\n\n{Usage}"),
            };
        }

        if (path is null)
        {
            throw new ArgumentException("run needs -f <dapr.yaml>");
        }

        var log = loggerFactory.CreateLogger("dapr-dev-sidecar");
        var (apps, warnings) = RunFile.Load(path);
        foreach (var warning in warnings)
        {
            log.LogWarning("{Warning}", warning);
        }

        using var stop = new CancellationTokenSource();
        using var signals = StopOnSignals(stop);
        await using var runtime = new ComponentRuntime(loggerFactory, TimeProvider.System) { Apps = new AppRegistry(AppRegistry.DefaultFolder) };
        var sidecars = new List<RunningSidecar>();
        var processes = new List<(SidecarOptions Options, AppProcess Process)>();
        var tokens = new Dictionary<string, (string? Api, string? App)>(StringComparer.Ordinal);
        try
        {
            foreach (var app in apps)
            {
                for (var replica = 0; replica < app.Replicas; replica++)
                {
                    var options = OptionsFor(app, replica, tokens);
                    if (separate)
                    {
                        processes.Add((options, StartSidecarProcess(app, options, replica)));
                        log.LogInformation("Sidecar process for app '{AppId}' (instance {Instance}): HTTP {Http}, gRPC {Grpc}, app port {AppPort}",
                            options.AppId, options.InstanceId, options.HttpPort, options.GrpcPort, options.AppPort);
                        continue;
                    }

                    var sidecar = await SidecarHost.StartAsync(options, runtime, stop.Token);
                    sidecars.Add(sidecar);
                    log.LogInformation("Sidecar for app '{AppId}' (instance {Instance}) listening: HTTP {Http}, gRPC {Grpc}, app port {AppPort}",
                        options.AppId, options.InstanceId, sidecar.HttpPort, sidecar.GrpcPort, options.AppPort);
                    if (app.Command.Count == 0)
                    {
                        continue;
                    }

                    var env = AppProcess.WithRunFileEnv(AppProcess.Environment(options, sidecar), app.Env, replica);
                    processes.Add((options, AppProcess.Start(options.AppId, app.Command, app.AppDirPath, env)));
                }
            }

            var healthy = await Task.WhenAll(processes.Select(async p =>
            {
                var ok = await p.Process.WaitHealthyAsync(p.Options, AppStartTimeout, stop.Token);
                if (ok)
                {
                    log.LogInformation("App '{AppId}' (instance {Instance}) is up. You're up and running!", p.Options.AppId, p.Options.InstanceId);
                }
                else
                {
                    log.LogWarning("App '{AppId}' (instance {Instance}) did not become healthy.", p.Options.AppId, p.Options.InstanceId);
                }

                return ok;
            }));

            if (processes.Count > 0 && healthy.All(h => h))
            {
                log.LogInformation("You're up and running! All {Count} apps are started; Ctrl+C stops them.", processes.Count);
            }

            var allExited = processes.Count == 0 ? Task.Delay(Timeout.Infinite, stop.Token) : Task.WhenAll(processes.Select(p => p.Process.Exited));
            await Task.WhenAny(allExited, Task.Delay(Timeout.Infinite, stop.Token));
            if (!stop.IsCancellationRequested)
            {
                log.LogInformation("Every app exited; stopping the sidecars.");
            }

            return processes.Select(p => p.Process.Exited.IsCompletedSuccessfully ? p.Process.Exited.Result : 0).FirstOrDefault(c => c != 0);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
        finally
        {
            log.LogInformation("Stopping {Apps} apps, then {Sidecars} sidecars.", processes.Count, sidecars.Count);
            await Task.WhenAll(processes.Select(p => p.Process.DisposeAsync().AsTask()));
            foreach (var sidecar in sidecars)
            {
                await sidecar.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// <c>--sidecar-processes</c>: this runner starts <c>dapr-dev-sidecar sidecar … -- command</c> for
    /// one app instance, with the run file's environment and tokens. The sidecar process runs here,
    /// as the Dapr CLI runs daprd, so relative paths in components resolve as they do for the
    /// in-process sidecars; the app command runs in the app's folder (<c>--app-dir</c>). Sidecar processes share name resolution and actor placement through
    /// their folders (docs/dev-sidecar.md), like daprd processes through mDNS and placement.
    /// </summary>
    private static AppProcess StartSidecarProcess(RunFileApp app, SidecarOptions options, int replica)
    {
        var self = System.Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? new List<string> { host, typeof(SidecarCli).Assembly.Location }
            : [System.Environment.ProcessPath ?? "dapr-dev-sidecar"];
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        List<string> command =
        [
            .. self, "sidecar", "--app-id", options.AppId, "--app-protocol", options.AppProtocol,
            "--dapr-http-port", options.HttpPort.ToString(invariant), "--dapr-grpc-port", options.GrpcPort.ToString(invariant),
            "--app-health-check-path", options.AppHealthCheckPath, "--app-dir", app.AppDirPath,
            .. options.ResourcesPaths.SelectMany(p => new[] { "--resources-path", p }),
        ];
        if (options.AppPort is { } port)
        {
            command.AddRange(["--app-port", port.ToString(invariant)]);
        }

        if (app.Command.Count > 0)
        {
            command.Add("--");
            command.AddRange(app.Command);
        }

        // The run file's variables reach the app through its sidecar process; the sidecar sets its own endpoints for the app.
        var env = new Dictionary<string, string>(app.Env, StringComparer.Ordinal)
        {
            ["DAPR_API_TOKEN"] = options.ApiToken ?? "",
            ["APP_API_TOKEN"] = options.AppApiToken ?? "",
        };
        if (replica > 0 && options.AppPort is { } replicaPort)
        {
            env["APP_PORT"] = replicaPort.ToString(invariant);
        }

        return AppProcess.Start(options.AppId, command, null, env);
    }

    private static SidecarOptions OptionsFor(RunFileApp app, int replica, Dictionary<string, (string? Api, string? App)> tokens)
    {
        string? Env(string name) => app.Env.TryGetValue(name, out var v) ? v : Environment.GetEnvironmentVariable(name);

        // Token authentication is on unless the run file or environment sets a token (used as
        // is) or sets it empty (off): otherwise each app gets random tokens for this run, shared
        // by its replicas. daprd reads the same two variables; the Dapr CLI leaves them to you.
        if (!tokens.TryGetValue(app.AppId, out var appTokens))
        {
            appTokens = (Env("DAPR_API_TOKEN") ?? NewToken(), Env("APP_API_TOKEN") ?? NewToken());
            tokens[app.AppId] = appTokens;
        }

        // Replicas past the first get free ports (their app reads APP_PORT), since two apps cannot share one.
        return new SidecarOptions
        {
            AppId = app.AppId,
            AppPort = replica == 0 || app.AppPort is null ? app.AppPort : SidecarHost.FreePort(),
            AppProtocol = app.AppProtocol,
            AppChannelAddress = app.AppChannelAddress,
            // Known before the sidecar starts: a sidecar process is told its ports.
            HttpPort = replica == 0 && app.DaprHttpPort != 0 ? app.DaprHttpPort : SidecarHost.FreePort(),
            GrpcPort = replica == 0 && app.DaprGrpcPort != 0 ? app.DaprGrpcPort : SidecarHost.FreePort(),
            ResourcesPaths = app.ResourcesPaths,
            AppHealthCheckPath = app.AppHealthCheckPath,
            ApiToken = appTokens.Api,
            AppApiToken = appTokens.App,
        };
    }

    private static string NewToken() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
}
