using Dapr.DevSidecar.Hosting;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Cli;

public static partial class SidecarCli
{
    // Filled in by the multi-app run work (issue 3, part 4).
    private static Task<int> RunFileAsync(string[] args, ILoggerFactory loggerFactory) =>
        Task.FromResult(Fail("run -f is not implemented yet"));

    private static Task<int> RunAppCommandAsync(SidecarOptions options, RunningSidecar sidecar, List<string> command, ILoggerFactory loggerFactory, CancellationToken stop) =>
        Task.FromResult(Fail("starting the app command is not implemented yet"));
}
