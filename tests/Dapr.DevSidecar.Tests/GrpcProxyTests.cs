using Dapr.AppCallback.Autogen.Grpc.v1;
using Dapr.Client;
using Dapr.Client.Autogen.Grpc.v1;
using Dapr.DevSidecar.Tests.Echo;
using Dapr.DevSidecar.Tests.Infrastructure;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;

namespace Dapr.DevSidecar.Tests;

/// <summary>gRPC proxying between two test apps through their sidecars, and InvokeService to a gRPC app.</summary>
[Trait("Area", "DevSidecar")]
public sealed class GrpcProxyTests
{
    private static readonly string[] WatchedKeys = ["dapr-api-token", "dapr-caller-app-id", "dapr-callee-app-id", "dapr-app-id", "x-custom"];

    /// <summary>The app behind the target sidecar.</summary>
    public sealed class EchoService : Echo.Echo.EchoBase
    {
        public static TaskCompletionSource<bool> SlowCancelled { get; set; } = new();

        public static TaskCompletionSource<DateTime> SlowDeadline { get; set; } = new();

        private static EchoReply Reply(string text, ServerCallContext context)
        {
            var reply = new EchoReply { Text = text };
            foreach (var key in WatchedKeys)
            {
                if (context.RequestHeaders.GetValue(key) is { } value)
                {
                    reply.Seen.Add($"{key}={value}");
                }
            }

            return reply;
        }

        public override Task<EchoReply> Say(EchoRequest request, ServerCallContext context) => Task.FromResult(Reply("echo: " + request.Text, context));

        public override async Task Count(CountRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
        {
            for (var i = 1; i <= request.Count; i++)
            {
                await responseStream.WriteAsync(new EchoReply { Text = i.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }
        }

        public override async Task<EchoReply> Collect(IAsyncStreamReader<EchoRequest> requestStream, ServerCallContext context)
        {
            var all = new List<string>();
            await foreach (var item in requestStream.ReadAllAsync(context.CancellationToken))
            {
                all.Add(item.Text);
            }

            return new EchoReply { Text = string.Join(",", all) };
        }

        public override async Task Chat(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
        {
            await foreach (var item in requestStream.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(new EchoReply { Text = item.Text.ToUpperInvariant() });
            }
        }

        public override async Task<EchoReply> Slow(EchoRequest request, ServerCallContext context)
        {
            SlowDeadline.TrySetResult(context.Deadline);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(20), context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                SlowCancelled.TrySetResult(true);
                throw;
            }

            return new EchoReply { Text = "too late" };
        }

        public override Task<EchoReply> Fail(EchoRequest request, ServerCallContext context)
        {
            context.ResponseTrailers.Add("x-failure-detail", "the reason");
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "not today: " + request.Text));
        }
    }

    /// <summary>A gRPC app answering AppCallback.OnInvoke (the InvokeService path for gRPC apps).</summary>
    public sealed class CallbackService : Dapr.AppCallback.Autogen.Grpc.v1.AppCallback.AppCallbackBase
    {
        public override Task<InvokeResponse> OnInvoke(InvokeRequest request, ServerCallContext context)
        {
            if (request.Method == "fail")
            {
                throw new RpcException(new Status(StatusCode.NotFound, "no such thing"));
            }

            var text = request.Data.Unpack<StringValue>().Value;
            var token = context.RequestHeaders.GetValue("dapr-api-token");
            return Task.FromResult(new InvokeResponse { Data = Any.Pack(new StringValue { Value = $"{request.Method}:{text}:{token}" }) });
        }
    }

    private static string Id(string name) => $"{name}-{Guid.NewGuid():N}"[..20];

    private sealed record Setup(SidecarTestHost Host, TestApp App, string TargetId, string CallerId, Dapr.DevSidecar.Hosting.RunningSidecar Caller) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            await App.DisposeAsync();
        }
    }

    private static async Task<Setup> StartAsync(string? callerApiToken = null)
    {
        var app = await TestApp.StartAsync(a => a.MapGrpcService<EchoService>(), grpc: true);
        var host = new SidecarTestHost();
        var targetId = Id("echo");
        var callerId = Id("gateway");
        await host.StartSidecarAsync(targetId, app.Port, appProtocol: "grpc", appApiToken: "echo-app-token");
        var caller = await host.StartSidecarAsync(callerId, apiToken: callerApiToken);
        return new Setup(host, app, targetId, callerId, caller);
    }

    [Fact]
    public async Task Unary_call_goes_through_with_caller_id_and_the_target_app_token()
    {
        await using var s = await StartAsync(callerApiToken: "gw-token");
        var client = new Echo.Echo.EchoClient(DaprClient.CreateInvocationInvoker(s.TargetId, s.Caller.GrpcEndpoint, "gw-token"));

        var reply = await client.SayAsync(new EchoRequest { Text = "hi" }, new Metadata { { "x-custom", "kept" } }, deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.Equal("echo: hi", reply.Text);
        Assert.Contains("dapr-api-token=echo-app-token", reply.Seen);
        Assert.Contains($"dapr-caller-app-id={s.CallerId}", reply.Seen);
        Assert.Contains($"dapr-callee-app-id={s.TargetId}", reply.Seen);
        Assert.Contains("x-custom=kept", reply.Seen);
        Assert.DoesNotContain(reply.Seen, e => e.StartsWith("dapr-app-id=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Server_client_and_bidi_streaming_go_through()
    {
        await using var s = await StartAsync();
        var client = new Echo.Echo.EchoClient(DaprClient.CreateInvocationInvoker(s.TargetId, s.Caller.GrpcEndpoint));

        using var count = client.Count(new CountRequest { Count = 50 });
        var got = new List<string>();
        await foreach (var item in count.ResponseStream.ReadAllAsync())
        {
            got.Add(item.Text);
        }

        Assert.Equal(Enumerable.Range(1, 50).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), got);

        using var collect = client.Collect();
        foreach (var t in new[] { "a", "b", "c" })
        {
            await collect.RequestStream.WriteAsync(new EchoRequest { Text = t });
        }

        await collect.RequestStream.CompleteAsync();
        Assert.Equal("a,b,c", (await collect).Text);

        using var chat = client.Chat();
        foreach (var t in new[] { "one", "two" })
        {
            await chat.RequestStream.WriteAsync(new EchoRequest { Text = t });
            Assert.True(await chat.ResponseStream.MoveNext());
            Assert.Equal(t.ToUpperInvariant(), chat.ResponseStream.Current.Text);
        }

        await chat.RequestStream.CompleteAsync();
        Assert.False(await chat.ResponseStream.MoveNext());
    }

    [Fact]
    public async Task Deadline_is_enforced_and_reaches_the_app()
    {
        await using var s = await StartAsync();
        var client = new Echo.Echo.EchoClient(DaprClient.CreateInvocationInvoker(s.TargetId, s.Caller.GrpcEndpoint));
        EchoService.SlowCancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        EchoService.SlowDeadline = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Warm the connections first, so the short deadline below is spent at the app, not on set-up.
        await client.SayAsync(new EchoRequest { Text = "warm-up" });

        var started = DateTime.UtcNow;
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.SlowAsync(new EchoRequest(), deadline: DateTime.UtcNow.AddMilliseconds(500)).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));

        // The app got the deadline (grpc-timeout was forwarded) and stopped working when it passed.
        var appDeadline = await EchoService.SlowDeadline.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.InRange(appDeadline, started, started.AddSeconds(5));
        Assert.True(await EchoService.SlowCancelled.Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Status_and_trailers_of_the_app_are_kept()
    {
        await using var s = await StartAsync();
        var client = new Echo.Echo.EchoClient(DaprClient.CreateInvocationInvoker(s.TargetId, s.Caller.GrpcEndpoint));

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.FailAsync(new EchoRequest { Text = "x" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal("not today: x", ex.Status.Detail);
        Assert.Equal("the reason", ex.Trailers.GetValue("x-failure-detail"));
    }

    [Fact]
    public async Task Missing_or_wrong_api_token_is_rejected_and_unknown_app_is_unavailable()
    {
        await using var s = await StartAsync(callerApiToken: "gw-token");
        foreach (var token in new[] { null, "wrong" })
        {
            var client = new Echo.Echo.EchoClient(DaprClient.CreateInvocationInvoker(s.TargetId, s.Caller.GrpcEndpoint, token));
            var ex = await Assert.ThrowsAsync<RpcException>(() => client.SayAsync(new EchoRequest()).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        }

        var nobody = new Echo.Echo.EchoClient(DaprClient.CreateInvocationInvoker("nobody", s.Caller.GrpcEndpoint, "gw-token"));
        var missing = await Assert.ThrowsAsync<RpcException>(() => nobody.SayAsync(new EchoRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, missing.StatusCode);
        Assert.Contains("couldn't find service: nobody", missing.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeService_reaches_a_grpc_app_through_OnInvoke()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGrpcService<CallbackService>(), grpc: true);
        await using var host = new SidecarTestHost();
        var targetId = Id("cb");
        await host.StartSidecarAsync(targetId, app.Port, appProtocol: "grpc", appApiToken: "cb-token");
        var caller = await host.StartSidecarAsync(Id("caller"));
        var dapr = host.ClientFor(caller);

        // Obsolete in the SDK (it recommends proxying), but still what InvokeService clients send.
#pragma warning disable CS0618
        var reply = await dapr.InvokeMethodGrpcAsync<StringValue, StringValue>(targetId, "greet", new StringValue { Value = "bob" });
        Assert.Equal("greet:bob:cb-token", reply.Value);

        var ex = await Assert.ThrowsAsync<InvocationException>(() => dapr.InvokeMethodGrpcAsync<StringValue, StringValue>(targetId, "fail", new StringValue()));
#pragma warning restore CS0618
        var rpc = Assert.IsType<RpcException>(ex.InnerException);
        Assert.Equal(StatusCode.NotFound, rpc.StatusCode);
    }
}
