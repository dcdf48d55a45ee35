using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Chat.Bench.Infrastructure;

/// <summary>
/// A fixed piece of work, timed before each scenario: how fast this machine runs at that moment.
/// A 2-core cloud machine with a load average under 1 can still be a third slower for minutes (its
/// host busy, caches cold after a build): every process, the bench's own clients included, then
/// used that much more CPU per message. Comparing the probe across runs tells such a run from a
/// change in our code. The work is our own code, compiled fully optimized at once (no tiering), so
/// the first probe of a process measures the machine and not the JIT: allocations of message-sized
/// buffers (the allocator and gen0 GCs, as every hop has them), filled and hashed.
/// </summary>
internal static class SpeedProbe
{
    private const int Rounds = 5;
    private const int BuffersPerRound = 100_000;
    private const int BufferBytes = 256;

    private static ulong _sink;

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

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Round()
    {
        ulong state = 0x9E3779B97F4A7C15, hash = 14695981039346656037;
        for (var i = 0; i < BuffersPerRound; i++)
        {
            var buffer = new byte[BufferBytes];
            for (var j = 0; j < buffer.Length; j++)
            {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                buffer[j] = (byte)state;
            }

            foreach (var b in buffer)
            {
                hash = (hash ^ b) * 1099511628211;
            }
        }

        Volatile.Write(ref _sink, hash);
    }
}
