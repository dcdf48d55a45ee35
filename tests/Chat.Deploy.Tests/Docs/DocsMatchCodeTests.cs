namespace Chat.Deploy.Tests.Docs;

/// <summary>The README, ARCHITECTURE.md and components/README.md against the component YAML, DaprNames and DaprUsage.</summary>
[Trait("Area", "House")]
public sealed class DocsMatchCodeTests
{
    private static readonly Markdown Readme = new("README.md");
    private static readonly Markdown Architecture = new("docs/ARCHITECTURE.md");
    private static readonly Markdown ComponentsReadme = new("components/README.md");

    private static List<string> AllProblems(RepoFacts facts) =>
    [
        .. DocsCheck.ComponentsReadme(ComponentsReadme, facts),
        .. DocsCheck.ArchitectureComponents(Architecture, facts),
        .. DocsCheck.ArchitectureTopics(Architecture, facts),
        .. DocsCheck.ReadmeDiagram(Readme, facts),
    ];

    [Fact]
    public void Docs_name_every_component_topic_and_app_the_code_has_and_no_other()
    {
        var problems = AllProblems(RepoFacts.Load());
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Readme_layout_has_a_row_for_each_folder_of_services_and_tools()
    {
        var problems = DocsCheck.ReadmeLayout(Readme);
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void A_component_renamed_in_the_code_but_not_in_the_docs_is_reported_in_each_doc()
    {
        var problems = AllProblems(RepoFacts.Load().RenameComponent("messages-store", "message-log"));

        foreach (var doc in new[] { ComponentsReadme, Architecture, Readme })
        {
            Assert.Contains(problems, p => p.StartsWith(doc.Path, StringComparison.Ordinal) && p.Contains("'messages-store', which does not exist", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.StartsWith(doc.Path, StringComparison.Ordinal) && p.Contains("does not name 'message-log'", StringComparison.Ordinal));
        }
    }
}
