using System.Text.RegularExpressions;

namespace Chat.Deploy.Tests.Docs;

/// <summary>
/// The checks that hold the docs to the code: each returns what disagrees (empty when the docs
/// are right), so a test can run them against the repository as it is and against facts with a
/// component renamed.
/// </summary>
public static partial class DocsCheck
{
    /// <summary>components/README.md: one row per component, with its type in each set.</summary>
    public static List<string> ComponentsReadme(Markdown doc, RepoFacts facts)
    {
        var rows = Markdown.Table(doc.Text);
        var problems = NameSet(doc, "component table", rows.Select(r => FirstCode(r[0])), facts.AllComponents);
        foreach (var row in rows)
        {
            problems.AddRange(Types(doc, FirstCode(row[0]), row[2..5], facts));
        }

        return problems;
    }

    /// <summary>docs/ARCHITECTURE.md, "Components": one row per component, the apps that use it and its types.</summary>
    public static List<string> ArchitectureComponents(Markdown doc, RepoFacts facts)
    {
        var rows = Markdown.Table(doc.Section("## Components"));
        var problems = NameSet(doc, "component table", rows.Select(r => FirstCode(r[0])), facts.AllComponents);
        foreach (var row in rows)
        {
            var name = FirstCode(row[0]);
            problems.AddRange(SameApps(doc, $"'{name}' used by", Markdown.NamesIn(row[2], facts.Apps), facts.Users(name)));
            problems.AddRange(Types(doc, name, row[3..6], facts));
        }

        return problems;
    }

    /// <summary>docs/ARCHITECTURE.md, "Topics": one row per topic, with who publishes and who consumes it.</summary>
    public static List<string> ArchitectureTopics(Markdown doc, RepoFacts facts)
    {
        var rows = Markdown.Table(doc.Section("## Topics"));
        var problems = NameSet(doc, "topic table", rows.Select(r => RepoFacts.TopicKey(FirstCode(r[0]))), facts.TopicKeys);
        foreach (var row in rows)
        {
            var topic = FirstCode(row[0]);
            problems.AddRange(SameApps(doc, $"'{topic}' published by", Markdown.NamesIn(row[2], facts.Apps), facts.Publishers(topic)));
            problems.AddRange(SameApps(doc, $"'{topic}' consumed by", Markdown.NamesIn(row[3], facts.Apps), facts.Subscribers(topic)));
        }

        return problems;
    }

    /// <summary>
    /// README's mermaid diagram: a subgraph per app, a node per component, and its arrows are the
    /// usage table: app → store/binding, app → pubsub labelled with the topics it publishes,
    /// pubsub → app with those it subscribes to, app → app for invocation and actor calls.
    /// </summary>
    public static List<string> ReadmeDiagram(Markdown doc, RepoFacts facts)
    {
        var problems = new List<string>();
        var mermaid = doc.Fenced("mermaid");
        var appOfNode = new Dictionary<string, string>(StringComparer.Ordinal);
        var componentsOfNode = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (Match m in Node().Matches(mermaid))
        {
            var (id, label) = (m.Groups["id"].Value, m.Groups["label"].Value);
            if (facts.Apps.Contains(id))
            {
                appOfNode[id] = id;
            }
            else if (label == "sidecar" && Regex.Match(mermaid, $@"(\w+)\[[^\]]*\]\s*---\s*{id}\[") is { Success: true } pair)
            {
                appOfNode[id] = pair.Groups[1].Value;
            }
            else
            {
                var names = label.Split(" / ", StringSplitOptions.TrimEntries);
                if (names.Any(n => ComponentShaped().IsMatch(n)))
                {
                    componentsOfNode[id] = names;
                }
            }
        }

        problems.AddRange(NameSet(doc, "diagram's apps", appOfNode.Values.Distinct(), facts.Apps));
        problems.AddRange(NameSet(doc, "diagram's components", componentsOfNode.Values.SelectMany(n => n), facts.AllComponents));

        var uses = new HashSet<(string, string)>();
        var publishes = new HashSet<(string, string)>();
        var subscribes = new HashSet<(string, string)>();
        var invokes = new HashSet<(string, string)>();
        foreach (Match e in Edge().Matches(mermaid))
        {
            var (from, label, to, dotted) = (e.Groups["from"].Value, e.Groups["label"].Value.Replace("<br/>", " ", StringComparison.Ordinal), e.Groups["to"].Value, e.Groups["dotted"].Success);
            if (dotted)
            {
                continue; // the shared secret store, drawn once for every app
            }

            var fromApp = appOfNode.GetValueOrDefault(from);
            var toApp = appOfNode.GetValueOrDefault(to);
            var topics = label.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(RepoFacts.TopicKey);
            if (fromApp is not null && componentsOfNode.TryGetValue(to, out var comps))
            {
                if (comps.Contains(Chat.Domain.DaprNames.PubSub))
                {
                    publishes.UnionWith(topics.Select(t => (fromApp, t)));
                }
                else
                {
                    uses.UnionWith(comps.Select(c => (fromApp, c)));
                }
            }
            else if (toApp is not null && componentsOfNode.TryGetValue(from, out var source) && source.Contains(Chat.Domain.DaprNames.PubSub))
            {
                subscribes.UnionWith(topics.Select(t => (toApp, t)));
            }
            else if (fromApp is not null && toApp is not null && fromApp != toApp)
            {
                invokes.Add((fromApp, toApp));
            }
        }

        var actorHosts = facts.Usage.SelectMany(a => a.HostsActors.Select(t => (Type: t, a.AppId))).ToDictionary(x => x.Type, x => x.AppId);
        foreach (var app in facts.Usage)
        {
            problems.AddRange(SameApps(doc, $"diagram: stores and bindings of {app.AppId}",
                uses.Where(u => u.Item1 == app.AppId).Select(u => u.Item2).ToHashSet(),
                app.StateStores.Concat(app.Bindings).Concat(app.HostsActors.Count > 0 ? [Chat.Domain.DaprNames.StateStores.Actors] : []).ToHashSet()));
            problems.AddRange(SameApps(doc, $"diagram: topics {app.AppId} publishes",
                publishes.Where(u => u.Item1 == app.AppId).Select(u => u.Item2).ToHashSet(),
                app.Publishes.Select(RepoFacts.TopicKey).ToHashSet()));
            problems.AddRange(SameApps(doc, $"diagram: topics {app.AppId} subscribes to",
                subscribes.Where(u => u.Item1 == app.AppId).Select(u => u.Item2).ToHashSet(),
                app.Subscribes.Select(RepoFacts.TopicKey).ToHashSet()));
            problems.AddRange(SameApps(doc, $"diagram: apps {app.AppId} calls",
                invokes.Where(u => u.Item1 == app.AppId).Select(u => u.Item2).ToHashSet(),
                app.Invokes.Select(i => actorHosts.GetValueOrDefault(i, i)).Where(i => i != app.AppId).ToHashSet()));
        }

        return problems;
    }

    /// <summary>README's "Repository layout": a row for each folder of services/ and tools/, and no row for a folder that is gone.</summary>
    public static List<string> ReadmeLayout(Markdown doc)
    {
        var rows = Markdown.Table(doc.Section("## Repository layout")).Select(r => FirstCode(r[0]).TrimEnd('/')).ToList();
        var folders = new[] { "services", "tools" }
            .SelectMany(top => Directory.EnumerateDirectories(Path.Combine(Repo.Root, top)).Select(d => $"{top}/{Path.GetFileName(d)}"));
        var problems = NameSet(doc, "layout table", rows.Where(r => r.StartsWith("services/", StringComparison.Ordinal) || r.StartsWith("tools/", StringComparison.Ordinal)), folders.ToHashSet());
        problems.AddRange(rows.Where(r => !Path.Exists(Path.Combine(Repo.Root, r))).Select(r => $"{doc.Path}: layout row '{r}' does not exist"));
        return problems;
    }

    private static List<string> NameSet(Markdown doc, string what, IEnumerable<string> named, IReadOnlySet<string> exist)
    {
        var namedSet = named.ToHashSet(StringComparer.Ordinal);
        return
        [
            .. namedSet.Except(exist).Select(n => $"{doc.Path}: {what} names '{n}', which does not exist"),
            .. exist.Except(namedSet).Select(n => $"{doc.Path}: {what} does not name '{n}'"),
        ];
    }

    private static IEnumerable<string> SameApps(Markdown doc, string what, IReadOnlySet<string> said, IReadOnlySet<string> truth) =>
        said.SetEquals(truth) ? [] : [$"{doc.Path}: {what}: says [{string.Join(", ", said.Order())}], the code says [{string.Join(", ", truth.Order())}]"];

    /// <summary>The three type cells (embedded, redis, production); "same" means the embedded type.</summary>
    private static IEnumerable<string> Types(Markdown doc, string name, string[] cells, RepoFacts facts)
    {
        for (var i = 0; i < RepoFacts.ComponentSets.Length; i++)
        {
            var set = RepoFacts.ComponentSets[i];
            if (!facts.ComponentsBySet[set].TryGetValue(name, out var actual))
            {
                continue; // reported as a name that does not exist
            }

            var said = cells[i].StartsWith("same", StringComparison.Ordinal) ? FirstCode(cells[0]) : FirstCode(cells[i]);
            if (said != actual)
            {
                yield return $"{doc.Path}: '{name}' in {set} is said to be {said}, its YAML says {actual}";
            }
        }
    }

    private static string FirstCode(string cell) => Markdown.CodeSpans(cell).FirstOrDefault() ?? cell;

    /// <summary>A mermaid node with a label: <c>id["…"]</c>, <c>id[("…")]</c>, <c>id{{"…"}}</c>.</summary>
    [GeneratedRegex(@"(?<id>\w+)(?:\[\(?|\{\{)""(?<label>[^""]*)""")]
    private static partial Regex Node();

    /// <summary>An arrow: <c>a --&gt; b</c>, <c>a -- "label" --&gt; b</c>, <c>a &lt;--&gt; b</c>, <c>a -. "label" .-&gt; b</c>.</summary>
    [GeneratedRegex(@"^\s*(?<from>\w+)\s*(?:<?-->|--\s*""(?<label>[^""]*)""\s*-->|(?<dotted>-\.\s*""[^""]*""\s*\.->))\s*(?<to>\w+)\s*$", RegexOptions.Multiline)]
    private static partial Regex Edge();

    /// <summary>Names shaped like our components (kebab-case with a component word).</summary>
    [GeneratedRegex(@"^[a-z]+(-[a-z]+)*-(store|pubsub|secrets|webhooks|apns|fcm|webpush)$")]
    private static partial Regex ComponentShaped();
}
