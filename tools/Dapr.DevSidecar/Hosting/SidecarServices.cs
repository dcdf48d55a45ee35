using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Dapr.DevSidecar.Hosting;

/// <summary>
/// The extension points each building block plugs into, one partial method per block and
/// stage, implemented in that block's own file:
/// services to register, middleware that must run before routing (gRPC proxying), and work
/// to start once listening (subscription discovery, actor placement) or stop at shutdown.
/// </summary>
internal static partial class SidecarServices
{
    public static void Add(IServiceCollection services, SidecarContext context)
    {
        AddPubSub(services, context);
        AddBindings(services, context);
        AddInvocation(services, context);
        AddActors(services, context);
    }

    public static void UseBeforeRouting(WebApplication app, SidecarContext context)
    {
        UseInvocation(app, context);
    }

    public static async Task StartAsync(IServiceProvider services, SidecarContext context, CancellationToken cancellationToken)
    {
        var starts = new List<Func<Task>>();
        StartPubSub(services, context, starts);
        StartActors(services, context, starts);
        foreach (var start in starts)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await start();
        }
    }

    static partial void AddPubSub(IServiceCollection services, SidecarContext context);

    static partial void AddBindings(IServiceCollection services, SidecarContext context);

    static partial void AddInvocation(IServiceCollection services, SidecarContext context);

    static partial void AddActors(IServiceCollection services, SidecarContext context);

    static partial void UseInvocation(WebApplication app, SidecarContext context);

    /// <summary>Adds work to run once the sidecar listens (e.g. subscription discovery).</summary>
    static partial void StartPubSub(IServiceProvider services, SidecarContext context, List<Func<Task>> starts);

    static partial void StartActors(IServiceProvider services, SidecarContext context, List<Func<Task>> starts);
}
