namespace Chat.Testing;

/// <summary>
/// The one way tests wait for something to become true: poll a condition until a deadline
/// (never a fixed sleep standing in for it). Fails with <see cref="TimeoutException"/> naming what
/// did not happen.
/// </summary>
public static class Wait
{
    /// <summary>How long a wait lasts unless the caller says otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <paramref name="timeout"/> (default 20 s).</summary>
    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeout);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <paramref name="timeout"/> (default 20 s).</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {limit} waiting for {what}.");
            }

            await Task.Delay(Interval);
        }
    }

    /// <summary>
    /// Polls <paramref name="read"/> until its value satisfies <paramref name="done"/> and returns
    /// that value; on timeout the message shows the last value read (<paramref name="what"/> gets it).
    /// </summary>
    public static async Task<T> ForAsync<T>(Func<Task<T>> read, Func<T, bool> done, Func<T, string> what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {limit} waiting for {what(value)}.");
            }

            await Task.Delay(Interval);
        }
    }

    /// <summary>
    /// Checks that <paramref name="condition"/> stays true for all of <paramref name="period"/>
    /// (e.g. no straggler arrives): fails at the first poll where it does not.
    /// </summary>
    public static async Task HoldsAsync(Func<bool> condition, string what, TimeSpan period)
    {
        var end = DateTime.UtcNow + period;
        do
        {
            if (!condition())
            {
                throw new InvalidOperationException($"Expected {what} for {period}, but it stopped holding.");
            }

            await Task.Delay(Interval);
        }
        while (DateTime.UtcNow < end);

        if (!condition())
        {
            throw new InvalidOperationException($"Expected {what} for {period}, but it stopped holding.");
        }
    }
}
