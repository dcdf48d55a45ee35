using Chat.Contracts.V1;
using Chat.Core.Presence;
using Chat.Core.Routing;
using Chat.Domain;
using Dapr.Client;

namespace Chat.Delivery;

/// <summary>
/// Presence and typing. PresenceChanged goes only to the users watching that user
/// (<c>watchers:{uid}</c>, written by gateways), and only to those its privacy lets see it:
/// the rule is reciprocal and "contacts" is symmetric, so one GetPresenceRules call with the
/// changed user as "viewer" gives every watcher's answer. Gateways then push only to the
/// connections that watch. TypingChanged goes to the conversation's other members.
/// </summary>
public static partial class EventHandlers
{
    private static void MapPresenceEventHandlers(this WebApplication app)
    {
        app.MapPost("/events/presence-changed", OnPresenceChangedAsync).WithTopic(DaprNames.PubSub, DaprNames.Topics.PresenceChanged);
        app.MapPost("/events/typing-changed", OnTypingChangedAsync).WithTopic(DaprNames.PubSub, DaprNames.Topics.TypingChanged);
    }

    private static Task<IResult> OnPresenceChangedAsync(HttpRequest request, FanOut fanOut, DaprClient dapr, DirectoryInternalService.DirectoryInternalServiceClient directory, TimeProvider time, ILoggerFactory logs) =>
        Handle(request, logs, async (PresenceChanged evt, CancellationToken ct) =>
        {
            var set = await dapr.GetStateAsync<WatcherSet?>(DaprNames.StateStores.Presence, PresenceKeys.Watchers(evt.UserId), cancellationToken: ct);
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var watchers = (set?.Watchers ?? []).Where(w => w.ExpiresAt > now && w.UserId != evt.UserId).Select(w => w.UserId).Distinct(StringComparer.Ordinal).ToList();
            if (watchers.Count == 0)
            {
                return;
            }

            var allowed = new List<string>();
            foreach (var chunk in watchers.Chunk(ChatLimits.MaxBatchUsers))
            {
                var rules = await directory.GetPresenceRulesAsync(new GetPresenceRulesRequest { ViewerId = evt.UserId, UserIds = { chunk } }, cancellationToken: ct);
                // rules.ViewerLastSeen is the changed user's setting; each rule is a watcher's.
                allowed.AddRange(rules.Rules.Where(r => PresencePrivacy.Visible(rules.ViewerLastSeen, r.LastSeen, r.IsContact)).Select(r => r.UserId));
            }

            if (allowed.Count == 0)
            {
                return;
            }

            var table = await fanOut.ResolveAsync(allowed, ct);
            await fanOut.PublishAsync(table, () => new Chat.Contracts.V1.Delivery { PresenceChanged = evt }, ct);
        });

    private static Task<IResult> OnTypingChangedAsync(HttpRequest request, FanOut fanOut, Recipients recipients, ILoggerFactory logs) =>
        Handle(request, logs, async (TypingChanged evt, CancellationToken ct) =>
        {
            var members = await recipients.MembersAsync(evt.ConversationId, ct);
            if (!members.Contains(evt.UserId, StringComparer.Ordinal))
            {
                return; // not (or no longer) a member: nobody hears it
            }

            var table = await fanOut.ResolveAsync(members.Where(m => m != evt.UserId).ToList(), ct);
            await fanOut.PublishAsync(table, () => new Chat.Contracts.V1.Delivery { TypingChanged = evt }, ct);
        });
}
