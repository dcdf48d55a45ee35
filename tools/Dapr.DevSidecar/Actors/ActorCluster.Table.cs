using System.Text.Json.Serialization;

namespace Dapr.DevSidecar.Actors;

/// <summary>One actor host as a member file and the placement table list it: its ring name and actor types.</summary>
public sealed record ClusterHostInfo(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("types")] string[] Types);

/// <summary>
/// One dev-sidecar process hosting actors (<c>members/{id}.json</c>): where its internal actor
/// endpoint listens, the token it requires there, and its hosts.
/// </summary>
public sealed record ClusterMember(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("pid")] int Pid,
    [property: JsonPropertyName("port")] int Port,
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("hosts")] ClusterHostInfo[] Hosts)
{
    /// <summary>Same membership (ids, endpoints and hosts), whatever the order of hosts and types.</summary>
    internal string Signature =>
        $"{Id}@{Port}:" + string.Join(";", Hosts.OrderBy(h => h.Name, StringComparer.Ordinal)
            .Select(h => h.Name + "=" + string.Join(",", h.Types.Order(StringComparer.Ordinal))));
}

/// <summary>
/// The placement table (<c>table.json</c>): a version, its phase (<c>lock</c> while the
/// members move actors, <c>unlock</c> once every member acknowledged) and the members.
/// </summary>
public sealed record ClusterTable(
    [property: JsonPropertyName("version")] long Version,
    [property: JsonPropertyName("phase")] string Phase,
    [property: JsonPropertyName("members")] ClusterMember[] Members)
{
    public const string Lock = "lock";
    public const string Unlock = "unlock";

    internal string Signature => string.Join("|", Members.Select(m => m.Signature).Order(StringComparer.Ordinal));
}

/// <summary>An owner on a ring: a host of this process (<see cref="Local"/>) or of another member.</summary>
internal sealed record ClusterOwner(ClusterMember Member, string Name, ActorHost? Local);

/// <summary>A placement table as a member routes by it: one ring per actor type over every host in the cluster.</summary>
internal sealed class RoutingTable
{
    public static readonly RoutingTable Empty = new(0, locked: true, []);

    private readonly Dictionary<string, HashRing<ClusterOwner>> _rings;

    public RoutingTable(long version, bool locked, Dictionary<string, HashRing<ClusterOwner>> rings)
    {
        Version = version;
        Locked = locked;
        _rings = rings;
    }

    public long Version { get; }

    /// <summary>True while the table's version is being disseminated: hosts start no new turns.</summary>
    public bool Locked { get; }

    public ClusterOwner? Owner(string type, string id) => _rings.TryGetValue(type, out var ring) ? ring.Get(id) : null;

    public RoutingTable WithLocked(bool locked) => new(Version, locked, _rings);

    public int HostCount(string type) => _rings.TryGetValue(type, out var ring) ? ring.Hosts.Count : 0;

    /// <summary>Rings of <paramref name="table"/>; hosts of <paramref name="memberId"/> map to this process's hosts by name.</summary>
    public static RoutingTable Build(ClusterTable table, string memberId, IReadOnlyCollection<ActorHost> localHosts)
    {
        var owners = new List<(string Type, ClusterOwner Owner)>();
        foreach (var member in table.Members)
        {
            foreach (var host in member.Hosts)
            {
                var local = member.Id == memberId ? localHosts.FirstOrDefault(h => h.Name == host.Name) : null;
                var owner = new ClusterOwner(member, host.Name, local);
                owners.AddRange(host.Types.Select(t => (t, owner)));
            }
        }

        var rings = owners.GroupBy(o => o.Type, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => new HashRing<ClusterOwner>(g.Select(o => (o.Owner.Name, o.Owner))), StringComparer.Ordinal);
        return new RoutingTable(table.Version, table.Phase != ClusterTable.Unlock, rings);
    }
}

/// <summary>The actor is not (or no longer) hosted by this process under the current table: the caller routes again.</summary>
internal sealed class ActorNotHereException(string type, string id) : Exception($"actor {type}/{id} is not hosted here under the current placement table");
