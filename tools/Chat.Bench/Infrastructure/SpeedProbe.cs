using System.Diagnostics;
using System.Text.Json;

namespace Chat.Bench.Infrastructure;

/// <summary>
/// A fixed piece of managed work, timed before each scenario: how fast this machine runs code like
/// ours at that moment. A 2-core cloud machine with a load average under 1 can still be a third
/// slower for minutes (its host busy, caches cold after a build): every process, the bench's own
/// clients included, then used that much more CPU per message. Comparing the probe across runs
/// tells such a run from a change in our code.
/// </summary>
internal static class SpeedProbe
{
    private const int Rounds = 5;
    private const int MessagesPerRound = 20_000;

    private static ulong _sink;

    private sealed record Probe(string ConversationId, ulong Seq, ulong MsgId, string SenderId, string Text, long SentAt);

    /// <summary>The median, over <see cref="Rounds"/> rounds after one warm-up, of one round's wall-clock ms on this thread.</summary>
    public static double MedianMs()
    {
        Round();
        var times = new double[Rounds];
        for (var i = 0; i < Rounds; i++)
        {
            var start = Stopwatch.GetTimestamp();
            Round();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(times);
        return times[Rounds / 2];
    }

    /// <summary>Serializes and parses back a message-sized record, as each hop of a send does; the checksum keeps it from being optimized away.</summary>
    private static void Round()
    {
        ulong checksum = 0;
        for (var i = 0; i < MessagesPerRound; i++)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(new Probe("dm:alice:bob", (ulong)i, (ulong)i * 7919, "alice", "t=" + i + "|hello there", i));
            checksum += JsonSerializer.Deserialize<Probe>(bytes)!.MsgId;
        }

        Volatile.Write(ref _sink, checksum);
    }
}
