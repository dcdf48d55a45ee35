using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Cli;

/// <summary>
/// Command line: <c>sidecar --app-id ID [--app-port N] [--resources-path DIR]… [-- command args…]</c>
/// runs one sidecar (and its app); <c>run -f dapr.yaml</c> runs every app of a run file.
/// </summary>
public static partial class SidecarCli
{
    public const string Usage = """
        Dapr dev sidecar: the Dapr sidecar API on one machine, for development and tests.

        Usage:
          dapr-dev-sidecar run -f <dapr.yaml> [--sidecar-processes]
                                                       run every app of a Dapr multi-app run file; with
                                                       --sidecar-processes each app instance gets its own
                                                       sidecar process (as daprd), else all share this one
          dapr-dev-sidecar sidecar --app-id <id> [options] [-- <command> <args>…]
                                                       run one sidecar (and start the app command)

        Sidecar options (as daprd):
          --app-id <id>                 the app's id (required)
          --app-port <port>             where the app listens
          --app-protocol <http|grpc>    how the sidecar calls the app (default http)
          --dapr-http-port <port>       HTTP API port (default: a free port)
          --dapr-grpc-port <port>       gRPC API port (default: a free port)
          --resources-path <dir>        component folder; repeatable
          --app-health-check-path <p>   default /healthz
          --app-dir <dir>               where the app command runs (default: here); the sidecar
                                        itself resolves relative component paths from here, as daprd
        Environment: DAPR_API_TOKEN (required from callers), APP_API_TOKEN (sent to the app).
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        using var loggerFactory = LoggerFactory.Create(b => b
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            })
            .SetMinimumLevel(LogLevel.Information)
            // Per-request logs of Kestrel, routing and the forwarder would drown the apps' own output.
            .AddFilter("Microsoft", LogLevel.Warning)
            // Enabled at any level, this category makes ASP.NET Core start an Activity for every
            // request (and HttpClient a child one for every call to an app), with nobody tracing;
            // it only writes request start/end records, below Warning.
            .AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None)
            .AddFilter("Yarp", LogLevel.Warning));
        try
        {
            return args[0] switch
            {
                "sidecar" => await RunSidecarAsync(args[1..], loggerFactory),
                "run" => await RunFileAsync(args[1..], loggerFactory),
                _ => Fail($"unknown command '{args[0]}'.\n\n{Usage}"),
            };
        }
        catch (ComponentLoadException ex)
        {
            return Fail($"error loading components: {ex.Message}");
        }
        catch (ArgumentException ex)
        {
            return Fail(ex.Message);
        }
    }

    private static async Task<int> RunSidecarAsync(string[] args, ILoggerFactory loggerFactory)
    {
        var (options, command, appDir) = ParseSidecarArgs(args);
        // One app per process here: sidecars of other processes are found through the registry folder.
        // Actors too: hosts in every dev-sidecar process of this user share one placement (docs/dev-sidecar.md).
        await using var runtime = new ComponentRuntime(loggerFactory, TimeProvider.System)
        {
            Apps = new AppRegistry(AppRegistry.DefaultFolder),
            PlacementFolder = Actors.ActorCluster.DefaultFolder(AppRegistry.DefaultFolder),
        };
        await using var sidecar = await SidecarHost.StartAsync(options, runtime);
        var log = loggerFactory.CreateLogger("dapr-dev-sidecar");
        log.LogInformation("Sidecar for app '{AppId}' listening: HTTP {Http}, gRPC {Grpc}", options.AppId, sidecar.HttpPort, sidecar.GrpcPort);

        using var stop = new CancellationTokenSource();
        using var signals = StopOnSignals(stop);

        if (command.Count == 0)
        {
            await Task.WhenAny(Task.Delay(Timeout.Infinite, stop.Token), sidecar.ShutdownRequested).ContinueWith(_ => { }, TaskScheduler.Default);
            return 0;
        }

        return await RunAppCommandAsync(options, sidecar, command, appDir, loggerFactory, stop.Token);
    }

    internal static (SidecarOptions Options, List<string> Command, string? AppDir) ParseSidecarArgs(string[] args)
    {
        string? appId = null;
        int? appPort = null;
        var protocol = "http";
        int httpPort = 0, grpcPort = 0;
        var healthPath = "/healthz";
        string? appDir = null;
        var paths = new List<string>();
        var command = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int NextInt()
            {
                var name = args[i];
                return int.TryParse(Next(), out var v) && v is >= 0 and <= 65535 ? v : throw new ArgumentException($"{name} needs a port number");
            }

            switch (args[i])
            {
                case "--": command.AddRange(args[(i + 1)..]); i = args.Length; break;
                case "--app-id" or "-a": appId = Next(); break;
                case "--app-port" or "-p": appPort = NextInt(); break;
                case "--app-protocol" or "-P": protocol = Next(); break;
                case "--dapr-http-port" or "-H": httpPort = NextInt(); break;
                case "--dapr-grpc-port" or "-G": grpcPort = NextInt(); break;
                case "--resources-path" or "--components-path" or "-d": paths.Add(Next()); break;
                case "--app-health-check-path": healthPath = Next(); break;
                case "--app-dir": appDir = Next(); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'.\n\n{Usage}");
            }
        }

        if (string.IsNullOrWhiteSpace(appId))
        {
            throw new ArgumentException("--app-id is required");
        }

        if (protocol is not ("http" or "grpc"))
        {
            throw new ArgumentException($"--app-protocol must be http or grpc (got '{protocol}')");
        }

        return (new SidecarOptions
        {
            AppId = appId,
            AppPort = appPort,
            AppProtocol = protocol,
            HttpPort = httpPort,
            GrpcPort = grpcPort,
            ResourcesPaths = paths,
            AppHealthCheckPath = healthPath,
            ApiToken = Environment.GetEnvironmentVariable("DAPR_API_TOKEN"),
            AppApiToken = Environment.GetEnvironmentVariable("APP_API_TOKEN"),
        }, command, appDir);
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 1;
    }
}
