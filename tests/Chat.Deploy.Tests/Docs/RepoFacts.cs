using System.Reflection;
using Chat.Domain;
using YamlDotNet.RepresentationModel;

namespace Chat.Deploy.Tests.Docs;

/// <summary>
/// What the repository says about its Dapr names, read from the sources of truth: component
/// YAML (<c>components/*/</c>) and <see cref="DaprNames"/> / <see cref="DaprUsage"/>. A value, so
/// that a test can rename a component in it and see the docs checks fail.
/// </summary>
public sealed record RepoFacts(
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> ComponentsBySet,
    IReadOnlySet<string> Topics,
    IReadOnlySet<string> Apps,
    IReadOnlyList<DaprAppUsage> Usage)
{
    public static readonly string[] ComponentSets = ["embedded", "redis", "production"];

    /// <summary>The repository as it is.</summary>
    public static RepoFacts Load() => new(
        ComponentSets.ToDictionary(set => set, set => LoadComponents(set), StringComparer.Ordinal),
        Literals(typeof(DaprNames.Topics)),
        Literals(typeof(DaprNames.Apps)),
        DaprUsage.Apps);

    /// <summary>The same facts with component <paramref name="from"/> called <paramref name="to"/> everywhere.</summary>
    public RepoFacts RenameComponent(string from, string to)
    {
        string R(string n) => n == from ? to : n;
        IReadOnlyList<string> L(IReadOnlyList<string> names) => names.Select(R).ToList();
        return this with
        {
            ComponentsBySet = ComponentsBySet.ToDictionary(
                kv => kv.Key,
                kv => (IReadOnlyDictionary<string, string>)kv.Value.ToDictionary(c => R(c.Key), c => c.Value, StringComparer.Ordinal)),
            Usage = Usage.Select(a => a with { StateStores = L(a.StateStores), Bindings = L(a.Bindings), SecretStores = L(a.SecretStores) }).ToList(),
        };
    }

    /// <summary>Every component name, over all sets.</summary>
    public IReadOnlySet<string> AllComponents => ComponentsBySet.Values.SelectMany(c => c.Keys).ToHashSet(StringComparer.Ordinal);

    /// <summary>A topic as docs write it: the per-instance delivery topics are one row, <c>deliveries.{…}</c>.</summary>
    public static string TopicKey(string topic) =>
        topic.StartsWith(DaprNames.Topics.DeliveriesPrefix, StringComparison.Ordinal) ? DaprNames.Topics.DeliveriesPrefix
        : topic.StartsWith(DaprNames.Topics.RouteChangesPrefix, StringComparison.Ordinal) ? DaprNames.Topics.RouteChangesPrefix
        : topic;

    public IReadOnlySet<string> TopicKeys => Topics.Select(TopicKey).ToHashSet(StringComparer.Ordinal);

    public IReadOnlySet<string> Publishers(string topic) =>
        Usage.Where(a => a.Publishes.Any(t => TopicKey(t) == TopicKey(topic))).Select(a => a.AppId).ToHashSet();

    public IReadOnlySet<string> Subscribers(string topic) =>
        Usage.Where(a => a.Subscribes.Any(t => TopicKey(t) == TopicKey(topic))).Select(a => a.AppId).ToHashSet();

    /// <summary>Apps whose sidecar loads <paramref name="component"/>.</summary>
    public IReadOnlySet<string> Users(string component) =>
        Usage.Where(a => a.Components.Contains(component)).Select(a => a.AppId).ToHashSet();

    private static IReadOnlyDictionary<string, string> LoadComponents(string set)
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Repo.Root, "components", set), "*.yaml"))
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(file))
            {
                stream.Load(reader);
            }

            foreach (var doc in stream.Documents)
            {
                if (doc.RootNode is YamlMappingNode root && Scalar(root, "kind") == "Component"
                    && root.Children.TryGetValue(new YamlScalarNode("metadata"), out var meta) && meta is YamlMappingNode m
                    && root.Children.TryGetValue(new YamlScalarNode("spec"), out var spec) && spec is YamlMappingNode s)
                {
                    found[Scalar(m, "name")!] = Scalar(s, "type")!;
                }
            }
        }

        return found;
    }

    private static IReadOnlySet<string> Literals(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral)
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToHashSet(StringComparer.Ordinal);

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;
}
