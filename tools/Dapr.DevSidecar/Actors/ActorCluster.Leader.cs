using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Actors;

/// <summary>
/// Leader side (the placement service): whoever holds <c>leader.lock</c> turns the live members into
/// versioned tables, locked on a membership change and unlocked once every live member acknowledged.
/// </summary>
public sealed partial class ActorCluster
{
    private Task LeaderLoopAsync() => PollAsync(LeaderPoll, "leading", _ =>
    {
        if (_leaderLock is null && TryLock(Path.Combine(Folder, "leader.lock")) is { } held)
        {
            _leaderLock = held;
            _log.LogInformation("Actor placement: this process ({Member}) leads the placement tables.", MemberId);
        }

        if (_leaderLock is not null)
        {
            Lead();
        }

        return Task.CompletedTask;
    });

    /// <summary>One step of the placement leader: publish a new locked version on a membership change, unlock it once acknowledged.</summary>
    private void Lead()
    {
        var members = LiveMembers();
        var current = ReadJson<ClusterTable>(TablePath);
        var proposed = new ClusterTable((current?.Version ?? 0) + 1, ClusterTable.Lock, members.OrderBy(m => m.Id, StringComparer.Ordinal).ToArray());
        if (current is null || current.Signature != proposed.Signature)
        {
            WritePrivate(TablePath, JsonSerializer.SerializeToUtf8Bytes(proposed, Json));
            return;
        }

        if (current.Phase == ClusterTable.Lock && members.All(m => AckOf(m.Id) >= current.Version))
        {
            WritePrivate(TablePath, JsonSerializer.SerializeToUtf8Bytes(current with { Phase = ClusterTable.Unlock }, Json));
        }
    }

    private long AckOf(string memberId)
    {
        try
        {
            return long.TryParse(File.ReadAllText(Path.Combine(AcksFolder, memberId)), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
