using System.Globalization;
using System.Text;
using Chat.Gateway.Hubs;

namespace Chat.Integration.Tests.Reliability.Workload;

/// <summary>The checker's verdict and the run's counts.</summary>
public sealed record CheckResult(IReadOnlyList<string> Violations, WorkloadCounts Counts)
{
    public bool Ok => Violations.Count == 0;

    public override string ToString()
    {
        var text = new StringBuilder(Counts.ToString());
        foreach (var v in Violations.Take(40))
        {
            text.Append("\n  VIOLATION: ").Append(v);
        }

        if (Violations.Count > 40)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n  … and {Violations.Count - 40} more");
        }

        return text.ToString();
    }
}

/// <summary>What happened in a run, in numbers.</summary>
public sealed record WorkloadCounts(
    int Sent, int Attempts, int Retries, int Acknowledged, int DuplicateAcks, int Unacknowledged, int Stored,
    int DeliveredLive, int DeliveredSync, int DuplicatesSuppressed, int OutOfOrderLive, int GapSyncs, int Receipts,
    int Reconnects, int AcknowledgedLost, int StoredTwice, IReadOnlyDictionary<string, int> Errors, int LifecycleAcknowledged = 0)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"sent {Sent} (attempts {Attempts}, retries {Retries}), acknowledged {Acknowledged} (of them edits, deletes and reactions {LifecycleAcknowledged}; duplicate acks {DuplicateAcks}), " +
        $"unacknowledged {Unacknowledged}, stored {Stored}; delivered to devices live {DeliveredLive}, by sync {DeliveredSync}, " +
        $"duplicates suppressed {DuplicatesSuppressed}, live out of order {OutOfOrderLive}, gap syncs {GapSyncs}; receipts {Receipts}; " +
        $"reconnects {Reconnects}; acknowledged lost {AcknowledgedLost}, stored twice {StoredTwice}; " +
        $"client errors: {string.Join(", ", Errors.OrderByDescending(e => e.Value).Select(e => $"{e.Key}×{e.Value}"))}");
}

/// <summary>
/// Judges a recorded workload history against the stored histories:
/// every acknowledged message, edit, delete and reaction reaches every member's every device in the
/// end, at its seq (so in seq order once deduplicated by msg_id); nothing is delivered or stored that
/// was never sent; nothing is stored twice (one entry per client_msg_id, seqs 1..N with no gap); and
/// history shows each message as its stored edits, deletes and reactions leave it.
/// </summary>
public static class HistoryChecker
{
    public static CheckResult Check(ChatWorkload workload, IReadOnlyDictionary<string, IReadOnlyList<MessageDto>> stored)
    {
        var history = workload.History;
        var violations = new List<string>();
        var attempts = history.Attempts.ToList();
        var sent = attempts.GroupBy(a => (a.SenderId, a.ClientMsgId)).ToDictionary(g => g.Key, g => g.First());
        var acks = history.Acks.Where(a => !a.FromEvent).ToList();
        var ackEvents = history.Acks.ToList();
        var acked = ackEvents.GroupBy(a => (a.SenderId, a.ClientMsgId)).ToDictionary(g => g.Key, g => g.ToList());
        var storedByKey = new Dictionary<(string, string), MessageDto>();
        var storedTwice = 0;
        var lost = 0;
        var states = new Dictionary<string, LifecycleState>(StringComparer.Ordinal);

        // 1. Stored histories: seqs 1..N with no gap, one entry per (sender, client_msg_id), each one sent.
        foreach (var (conversationId, messages) in stored)
        {
            for (var i = 0; i < messages.Count; i++)
            {
                if (messages[i].Seq != (ulong)i + 1)
                {
                    violations.Add($"{conversationId}: stored seqs are not 1..{messages.Count} without gaps (position {i + 1} holds seq {messages[i].Seq})");
                    break;
                }
            }

            var state = states[conversationId] = new LifecycleState(messages, e => sent.TryGetValue((e.SenderId, e.ClientMsgId), out var a) ? a.Text : null);
            foreach (var m in messages)
            {
                var key = (m.SenderId, m.ClientMsgId);
                if (!storedByKey.TryAdd(key, m))
                {
                    storedTwice++;
                    violations.Add($"{conversationId}: client_msg_id {m.ClientMsgId} of {m.SenderId} stored twice (seqs {storedByKey[key].Seq} and {m.Seq})");
                }

                if (!sent.TryGetValue(key, out var attempt))
                {
                    violations.Add($"{conversationId}: seq {m.Seq} (client_msg_id {m.ClientMsgId}) was stored but never sent");
                }
                else if (state.ExpectedText(m, attempt.Text) != m.Text || attempt.ConversationId != conversationId || attempt.Kind != m.Kind || attempt.TargetSeq != m.TargetSeq)
                {
                    violations.Add($"{conversationId}: seq {m.Seq} holds {m.Kind} '{m.Text}' (target {m.TargetSeq}), but {attempt.Kind} " +
                        $"'{state.ExpectedText(m, attempt.Text)}' (target {attempt.TargetSeq}) was sent to {attempt.ConversationId}");
                }

                if (m.Kind == "message" && (m.Deleted != state.Deleted(m.Seq) || !state.ExpectedReactions(m.Seq).SequenceEqual(LifecycleState.Reactions(m))))
                {
                    violations.Add($"{conversationId}: seq {m.Seq} shows deleted={m.Deleted}, reactions [{string.Join(' ', LifecycleState.Reactions(m))}], " +
                        $"but its log says deleted={state.Deleted(m.Seq)}, reactions [{string.Join(' ', state.ExpectedReactions(m.Seq))}]");
                }
            }
        }

        // 2. Every ack names the stored message (same msg_id and seq), and all acks of one client_msg_id agree.
        foreach (var (key, list) in acked)
        {
            if (!storedByKey.TryGetValue(key, out var m))
            {
                lost++;
                violations.Add($"acknowledged message {key.ClientMsgId} of {key.SenderId} (msg {list[0].Message.MsgId}, seq {list[0].Message.Seq}) is not stored: LOST");
                continue;
            }

            foreach (var ack in list.Where(a => a.Message.MsgId != m.MsgId || a.Message.Seq != m.Seq))
            {
                violations.Add($"ack of {key.ClientMsgId} on {ack.Device} says msg {ack.Message.MsgId} seq {ack.Message.Seq}, but msg {m.MsgId} seq {m.Seq} is stored");
            }
        }

        // 3. Every delivered message was stored (and so sent) and is the one stored at its seq.
        foreach (var d in history.Deliveries)
        {
            if (!stored.TryGetValue(d.Message.ConversationId, out var messages))
            {
                violations.Add($"{d.Device} received msg {d.Message.MsgId} of conversation {d.Message.ConversationId}, which the workload never used");
                continue;
            }

            var at = d.Message.Seq >= 1 && d.Message.Seq <= (ulong)messages.Count ? messages[(int)d.Message.Seq - 1] : null;
            // Text only where nothing changed the entry later (a copy may carry it before or after an edit or delete).
            if (at is null || at.MsgId != d.Message.MsgId || at.ClientMsgId != d.Message.ClientMsgId || (states[d.Message.ConversationId].Stable(at) && at.Text != d.Message.Text))
            {
                violations.Add($"{d.Device} received msg {d.Message.MsgId} '{d.Message.Text}' at seq {d.Message.Seq} of {d.Message.ConversationId} ({d.Path}), which is not what is stored there");
            }
        }

        // 4. In the end every device of every member holds every stored message, at its seq.
        foreach (var conversation in workload.Conversations)
        {
            var messages = stored[conversation.Id];
            foreach (var device in workload.Devices.Where(d => conversation.Members.Any(m => m.UserId == d.UserId)))
            {
                var held = device.Messages(conversation.Id);
                foreach (var m in messages)
                {
                    if (!held.TryGetValue(m.Seq, out var h))
                    {
                        var wasAcked = acked.ContainsKey((m.SenderId, m.ClientMsgId));
                        if (wasAcked)
                        {
                            lost++;
                        }

                        violations.Add($"{device.Device} never got seq {m.Seq} of {conversation.Name} ({(wasAcked ? "acknowledged" : "stored, not acknowledged")}: '{m.Text}')");
                    }
                    else if (h.MsgId != m.MsgId)
                    {
                        violations.Add($"{device.Device} holds msg {h.MsgId} at seq {m.Seq} of {conversation.Name}, but msg {m.MsgId} is stored there");
                    }
                }

                foreach (var extra in held.Keys.Where(s => s > (ulong)messages.Count))
                {
                    violations.Add($"{device.Device} holds seq {extra} of {conversation.Name}, past the stored last seq {messages.Count}");
                }
            }
        }

        // 5. Receipts name conversations of the workload and seqs that exist.
        foreach (var r in history.Receipts)
        {
            if (!stored.TryGetValue(r.Receipt.ConversationId, out var messages) || r.Receipt.UpToSeq > (ulong)messages.Count)
            {
                violations.Add($"{r.Device} got a receipt up to seq {r.Receipt.UpToSeq} of {r.Receipt.ConversationId}, which has no such seq");
            }
        }

        var lifecycleAcked = sent.Values.Count(a => a.Kind != "message" && acked.ContainsKey((a.SenderId, a.ClientMsgId)));
        if (lifecycleAcked == 0)
        {
            violations.Add("no edit, delete or reaction was acknowledged: the run did not cover them");
        }

        violations.AddRange(history.Anomalies);
        if (workload.Unacknowledged > 0)
        {
            violations.Add($"{workload.Unacknowledged} sends were still not acknowledged after the retry deadline");
        }

        var counts = new WorkloadCounts(
            Sent: sent.Count,
            Attempts: attempts.Count,
            Retries: attempts.Count - sent.Count,
            Acknowledged: acked.Count,
            DuplicateAcks: acks.Count(a => a.Duplicate),
            Unacknowledged: workload.Unacknowledged,
            Stored: stored.Values.Sum(m => m.Count),
            DeliveredLive: history.FirstLive,
            DeliveredSync: history.FirstSync,
            DuplicatesSuppressed: history.DuplicatesSuppressed,
            OutOfOrderLive: history.OutOfOrderLive,
            GapSyncs: history.GapSyncs,
            Receipts: history.Receipts.Count,
            Reconnects: history.Reconnects,
            AcknowledgedLost: lost,
            StoredTwice: storedTwice,
            Errors: new Dictionary<string, int>(history.Errors, StringComparer.Ordinal),
            LifecycleAcknowledged: lifecycleAcked);
        return new CheckResult(violations, counts);
    }
}
