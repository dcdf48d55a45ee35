namespace Dapr.DevSidecar.Actors;

/// <summary>
/// One actor id known to the process: its turn lock (one call at a time, across every caller
/// and every sidecar), where it is active, when it was last used and its timers.
/// </summary>
internal sealed class ActorEntry(string type, string id)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _sync = new();
    private string? _holder;
    private int _depth;

    public string Type { get; } = type;

    public string Id { get; } = id;

    public string Key => Type + ActorStateStore.Separator + Id;

    /// <summary>The host whose app has this actor activated; null when not active. Changed only inside a turn.</summary>
    public ActorHost? ActiveOn { get; set; }

    /// <summary>UTC ticks of the end of the last call.</summary>
    public long LastUsedTicks { get; set; }

    /// <summary>Callers holding this entry (see <see cref="ActorPlacement"/>); guarded by the placement's lock.</summary>
    public int Refs { get; set; }

    /// <summary>Timers by name; guarded by <see cref="Timers"/> itself.</summary>
    public Dictionary<string, ActorTimer> Timers { get; } = new(StringComparer.Ordinal);

    public bool Busy => _gate.CurrentCount == 0;

    /// <summary>
    /// Waits for the actor's turn. With reentrancy on, a call carrying the reentrancy id of the
    /// call that holds the turn enters at once (up to <c>maxStackDepth</c> deep); any other call
    /// waits. Returns the reentrancy id to send to the app (null when reentrancy is off).
    /// </summary>
    public async Task<Turn> EnterAsync(string? reentrancyId, ActorTypeConfig? config, CancellationToken ct)
    {
        var reentrant = config?.ReentrancyEnabled == true;
        if (reentrant && !string.IsNullOrEmpty(reentrancyId))
        {
            lock (_sync)
            {
                if (_depth > 0 && _holder == reentrancyId)
                {
                    if (_depth >= config!.MaxStackDepth)
                    {
                        throw ActorErrors.MaxStackDepth();
                    }

                    _depth++;
                    return new Turn(this, reentrancyId, Nested: true);
                }
            }
        }

        await _gate.WaitAsync(ct);
        lock (_sync)
        {
            _holder = reentrant ? (string.IsNullOrEmpty(reentrancyId) ? Guid.NewGuid().ToString() : reentrancyId) : null;
            _depth = 1;
            return new Turn(this, _holder, Nested: false);
        }
    }

    /// <summary>Takes the turn only if it is free now (idle deactivation must not wait behind calls).</summary>
    public Turn? TryEnterNow()
    {
        if (!_gate.Wait(0))
        {
            return null;
        }

        lock (_sync)
        {
            _holder = null;
            _depth = 1;
        }

        return new Turn(this, null, Nested: false);
    }

    private void Exit(bool nested)
    {
        lock (_sync)
        {
            _depth--;
            if (!nested)
            {
                _holder = null;
                _depth = 0;
            }
        }

        if (!nested)
        {
            _gate.Release();
        }
    }

    /// <summary>Stops every timer (the actor is deactivated or moved).</summary>
    public void CancelTimers()
    {
        List<ActorTimer> timers;
        lock (Timers)
        {
            timers = [.. Timers.Values];
            Timers.Clear();
        }

        foreach (var t in timers)
        {
            t.Cancel();
        }
    }

    public bool HasTimers
    {
        get
        {
            lock (Timers)
            {
                return Timers.Count > 0;
            }
        }
    }

    /// <summary>A held turn; dispose to release it.</summary>
    public readonly record struct Turn(ActorEntry Entry, string? ReentrancyId, bool Nested) : IDisposable
    {
        public void Dispose() => Entry.Exit(Nested);
    }
}
