using Dapr.DevSidecar.Cli;

return await SidecarCli.RunAsync(args);
