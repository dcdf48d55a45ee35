using Dapr;
using Dapr.Actors;

namespace Chat.Core;

/// <summary>What an actor call through the sidecar throws when the actor or the sidecar failed (not a refusal: those are answers).</summary>
public static class ActorCallFailure
{
    public static bool IsFailure(Exception ex) =>
        ex is DaprException or HttpRequestException or TimeoutException or ActorMethodInvocationException;
}
