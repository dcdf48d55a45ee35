using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Dapr.DevSidecar.Actors;

/// <summary>
/// A consistent-hash ring with virtual nodes, as Dapr's placement tables are: each host is
/// hashed <see cref="VirtualNodes"/> times (<c>host + i</c>) onto a 64-bit ring; a key belongs to
/// the first virtual node at or after its hash. Adding or removing one host moves only the keys
/// of that host. (Dapr hashes with BLAKE2b; SHA-256 spreads keys as well and is in the BCL.)
/// Immutable: rebuild on membership change.
/// </summary>
public sealed class HashRing<THost> where THost : class
{
    public const int VirtualNodes = 100;

    private readonly ulong[] _points;
    private readonly THost[] _owners;

    public HashRing(IEnumerable<(string Name, THost Host)> hosts)
    {
        var nodes = new List<(ulong Point, THost Host)>();
        foreach (var (name, host) in hosts)
        {
            Hosts.Add(host);
            for (var i = 0; i < VirtualNodes; i++)
            {
                nodes.Add((Hash(name + i.ToString(System.Globalization.CultureInfo.InvariantCulture)), host));
            }
        }

        nodes.Sort((a, b) => a.Point.CompareTo(b.Point));
        _points = nodes.Select(n => n.Point).ToArray();
        _owners = nodes.Select(n => n.Host).ToArray();
    }

    public List<THost> Hosts { get; } = [];

    public bool IsEmpty => _points.Length == 0;

    /// <summary>The host owning <paramref name="key"/>, or null when the ring is empty.</summary>
    public THost? Get(string key)
    {
        if (_points.Length == 0)
        {
            return null;
        }

        if (Hosts.Count == 1)
        {
            // Every key is that host's: no hash per actor call.
            return _owners[0];
        }

        var index = Array.BinarySearch(_points, Hash(key));
        if (index < 0)
        {
            index = ~index;
        }

        return _owners[index == _points.Length ? 0 : index];
    }

    private static ulong Hash(string key)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }
}
