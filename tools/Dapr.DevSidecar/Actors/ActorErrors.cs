using Dapr.DevSidecar.Api;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.Actors;

/// <summary>daprd's actor API errors (pkg/messages/predefined.go), same codes and statuses.</summary>
internal static class ActorErrors
{
    public static DaprApiException RuntimeNotFound() => new("ERR_ACTOR_RUNTIME_NOT_FOUND",
        "the state store is not configured to use the actor runtime. Have you set the - name: actorStateStore value: \"true\" in your state store component file?",
        StatusCode.Internal, StatusCodes.Status500InternalServerError);

    public static DaprApiException Invoke(string detail) =>
        new("ERR_ACTOR_INVOKE_METHOD", $"error invoke actor method: {detail}", StatusCode.Internal, StatusCodes.Status500InternalServerError);

    public static DaprApiException NoAddress(string actorKey) =>
        new("ERR_ACTOR_NO_ADDRESS", $"did not find address for actor '{actorKey}'", StatusCode.FailedPrecondition, StatusCodes.Status404NotFound);

    public static DaprApiException StateGet(string detail) =>
        new("ERR_ACTOR_STATE_GET", $"error getting actor state: {detail}", StatusCode.Internal, StatusCodes.Status500InternalServerError);

    public static DaprApiException StateTransaction(string detail) =>
        new("ERR_ACTOR_STATE_TRANSACTION_SAVE", $"error saving actor transaction state: {detail}", StatusCode.Internal, StatusCodes.Status500InternalServerError);

    public static DaprApiException ReminderCreate(string detail) =>
        new("ERR_ACTOR_REMINDER_CREATE", $"error creating actor reminder: {detail}", StatusCode.Internal, StatusCodes.Status500InternalServerError);

    public static DaprApiException ReminderGet(string detail) =>
        new("ERR_ACTOR_REMINDER_GET", $"error getting actor reminder: {detail}", StatusCode.Internal, StatusCodes.Status500InternalServerError);

    public static DaprApiException ReminderDelete(string detail) =>
        new("ERR_ACTOR_REMINDER_DELETE", $"error deleting actor reminder: {detail}", StatusCode.Internal, StatusCodes.Status500InternalServerError);

    public static DaprApiException ReminderNotFound(string name) =>
        new("ERR_ACTOR_REMINDER_NOT_FOUND", $"actor reminder not found: {name}", StatusCode.NotFound, StatusCodes.Status404NotFound);

    public static DaprApiException ReminderNotHosted() => new("ERR_ACTOR_REMINDER_NON_HOSTED",
        "operations on actor reminders are only possible on hosted actor types", StatusCode.PermissionDenied, StatusCodes.Status403Forbidden);

    public static DaprApiException TimerCreate(string detail) =>
        new("ERR_ACTOR_TIMER_CREATE", $"error creating actor timer: {detail}", StatusCode.Internal, StatusCodes.Status500InternalServerError);

    public static DaprApiException MaxStackDepth() =>
        new("ERR_ACTOR_STACK_DEPTH", "maximum stack depth exceeded", StatusCode.ResourceExhausted, StatusCodes.Status500InternalServerError);

    public static DaprApiException Malformed(string detail) =>
        DaprApiException.InvalidArgument("ERR_MALFORMED_REQUEST", $"failed deserializing HTTP body: {detail}");

    public static DaprApiException BadRequest(string detail) =>
        DaprApiException.InvalidArgument("ERR_BAD_REQUEST", $"invalid request: {detail}");

    public static DaprApiException RuntimeClosed() =>
        new("ERR_ACTOR_RUNTIME_CLOSED", "actor runtime is closed", StatusCode.Unavailable, StatusCodes.Status503ServiceUnavailable);
}
