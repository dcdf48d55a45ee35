using System.Collections.Concurrent;

namespace Chat.Gateway.Presence;

/// <summary>
/// At most one "typing" event per <see cref="Interval"/> per user and conversation on this
/// instance; "stopped typing" always passes. Typing is ephemeral: nothing here is stored.
/// </summary>
public sealed class TypingThrottle(TimeProvider time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(3);

    private readonly ConcurrentDictionary<(string User, string Conversation), DateTimeOffset> _last = new();

    /// <summary>True when this typing state may be published now.</summary>
    public bool TryPass(string userId, string conversationId, bool typing)
    {
        if (!typing)
        {
            return true;
        }

        var now = time.GetUtcNow();
        var key = (userId, conversationId);
        while (true)
        {
            if (_last.TryGetValue(key, out var last))
            {
                if (now - last < Interval)
                {
                    return false;
                }

                if (_last.TryUpdate(key, now, last))
                {
                    break;
                }
            }
            else if (_last.TryAdd(key, now))
            {
                break;
            }
        }

        if (_last.Count > 50_000)
        {
            // Old entries can no longer block anything.
            foreach (var (k, at) in _last)
            {
                if (now - at >= Interval)
                {
                    _last.TryRemove(new KeyValuePair<(string, string), DateTimeOffset>(k, at));
                }
            }
        }

        return true;
    }
}
