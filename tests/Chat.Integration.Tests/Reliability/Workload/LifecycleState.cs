using Chat.Gateway.Hubs;

namespace Chat.Integration.Tests.Reliability.Workload;

/// <summary>
/// What a conversation's stored history must show once its edits, deletes and reactions are
/// applied, worked out from the stored log and what was sent: a message's text is its last edit's
/// (or nothing once deleted), an edit of a deleted message has lost its text, and each member's
/// newest reaction counts (an empty one removes theirs).
/// </summary>
public sealed class LifecycleState
{
    private readonly Dictionary<ulong, string> _text = [];
    private readonly HashSet<ulong> _deleted = [];
    private readonly HashSet<ulong> _changed = [];
    private readonly Dictionary<ulong, Dictionary<string, string>> _reactions = [];

    /// <summary><paramref name="log"/> in seq order; <paramref name="sentText"/>: the text an entry was sent with, if it was sent.</summary>
    public LifecycleState(IReadOnlyList<MessageDto> log, Func<MessageDto, string?> sentText)
    {
        foreach (var e in log)
        {
            var text = sentText(e) ?? e.Text;
            switch (e.Kind)
            {
                case "edit":
                    _text[e.TargetSeq] = text;
                    _changed.Add(e.TargetSeq);
                    break;
                case "delete":
                    _deleted.Add(e.TargetSeq);
                    _changed.Add(e.TargetSeq);
                    break;
                case "reaction":
                    var by = _reactions.TryGetValue(e.TargetSeq, out var r) ? r : _reactions[e.TargetSeq] = new(StringComparer.Ordinal);
                    if (text.Length == 0)
                    {
                        by.Remove(e.SenderId);
                    }
                    else
                    {
                        by[e.SenderId] = text;
                    }

                    break;
            }
        }

        Log = log;
    }

    public IReadOnlyList<MessageDto> Log { get; }

    /// <summary>The text history must show for the entry, given the text it was sent with.</summary>
    public string ExpectedText(MessageDto entry, string sent) => entry.Kind switch
    {
        "message" when _deleted.Contains(entry.Seq) => "",
        "message" => _text.GetValueOrDefault(entry.Seq, sent),
        "edit" when _deleted.Contains(entry.TargetSeq) => "",
        _ => sent,
    };

    public bool Deleted(ulong seq) => _deleted.Contains(seq);

    /// <summary>"emoji×count" per emoji, sorted: what the message's reactions must add up to.</summary>
    public IReadOnlyList<string> ExpectedReactions(ulong seq) =>
        _deleted.Contains(seq) || !_reactions.TryGetValue(seq, out var by)
            ? []
            : by.Values.GroupBy(e => e, StringComparer.Ordinal).Select(g => $"{g.Key}×{g.Count()}").Order(StringComparer.Ordinal).ToList();

    public static IReadOnlyList<string> Reactions(MessageDto m) =>
        (m.Reactions ?? []).Select(r => $"{r.Emoji}×{r.Count}").Order(StringComparer.Ordinal).ToList();

    /// <summary>Whether a copy delivered at any time must carry the stored text (nothing changed the entry later).</summary>
    public bool Stable(MessageDto stored) => stored.Kind switch
    {
        "message" => !_changed.Contains(stored.Seq),
        "edit" => !_deleted.Contains(stored.TargetSeq),
        _ => true,
    };
}
