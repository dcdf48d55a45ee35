using System.Collections;

namespace Chat.Gateway;

/// <summary>
/// Connection ids in the order added, each once, with a hashed <see cref="Contains"/>. SignalR's
/// <c>Clients(list)</c> send tests every connection of the hub against the list it is given
/// (through <see cref="ICollection{T}.Contains"/>); with a plain list a 500-member group on a
/// gateway of N connections cost 500 × N string comparisons per event.
/// </summary>
public sealed class ConnectionIdList : IReadOnlyList<string>, ICollection<string>
{
    // Up to this many, a scan of the list is cheaper than a set (a 1:1 event has one or two targets).
    private const int SetFrom = 8;

    private readonly List<string> _items = [];
    private HashSet<string>? _set;

    public int Count => _items.Count;

    public bool IsReadOnly => false;

    public string this[int index] => _items[index];

    /// <summary>Adds <paramref name="connectionId"/> unless it is there already.</summary>
    public void Add(string connectionId)
    {
        if (_set is not null ? !_set.Add(connectionId) : _items.Contains(connectionId))
        {
            return;
        }

        _items.Add(connectionId);
        if (_set is null && _items.Count >= SetFrom)
        {
            _set = new HashSet<string>(_items, StringComparer.Ordinal);
        }
    }

    public bool Contains(string item) => _set?.Contains(item) ?? _items.Contains(item);

    public bool Remove(string item)
    {
        _set?.Remove(item);
        return _items.Remove(item);
    }

    public void Clear()
    {
        _set = null;
        _items.Clear();
    }

    public void CopyTo(string[] array, int arrayIndex) => _items.CopyTo(array, arrayIndex);

    public List<string>.Enumerator GetEnumerator() => _items.GetEnumerator();

    IEnumerator<string> IEnumerable<string>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
