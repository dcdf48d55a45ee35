using System.Diagnostics;
using System.Text;

namespace Dapr.DevSidecar.Tests.Polyglot;

/// <summary>A program of another SDK run as its own process, as `dapr run` would start it; its output is kept for the assertion message.</summary>
public static class SdkProgram
{
    public sealed record Result(int ExitCode, string Output);

    /// <summary>
    /// Runs <paramref name="fileName"/> with the environment the Dapr CLI gives an app (and no
    /// DAPR_*_ENDPOINT, so each SDK builds its endpoints from the ports, as its defaults do).
    /// Killed with its children after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string> env, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var name in (string[])["DAPR_HTTP_ENDPOINT", "DAPR_GRPC_ENDPOINT", "DAPR_API_TOKEN", "APP_API_TOKEN", "ASPNETCORE_URLS"])
        {
            start.Environment.Remove(name);
        }

        foreach (var (key, value) in env)
        {
            start.Environment[key] = value;
        }

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Append($"(killed after {timeout.TotalSeconds:0} s)");
            return new Result(-1, Text());
        }

        // The exit is seen before the last output lines; WaitForExit() without a timeout drains them.
        process.WaitForExit();
        return new Result(process.ExitCode, Text());

        void Append(string? line)
        {
            if (line is not null)
            {
                lock (output)
                {
                    output.AppendLine(line);
                }
            }
        }

        string Text()
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }
}
