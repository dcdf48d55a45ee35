using System.Text.RegularExpressions;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;

namespace Chat.Integration.Tests.Polyglot;

/// <summary>
/// The Node bots app cannot reference DaprNames, so it spells the names itself: this keeps both
/// spellings equal (a renamed topic or app in C# fails here, not silently in production).
/// </summary>
[Trait("Area", "Polyglot")]
public sealed partial class BotNamesTests
{
    [GeneratedRegex("""const (?<name>\w+) = "(?<value>[^"]*)";""")]
    private static partial Regex Constant();

    [GeneratedRegex("""webhookBinding: process\.env\.BOTS_WEBHOOK_BINDING \?\? "(?<value>[^"]*)""")]
    private static partial Regex WebhookBindingDefault();

    [Fact]
    public void The_node_app_uses_the_names_of_DaprNames()
    {
        var src = Path.Combine(RepoPaths.Root, "services", "chat-bots", "src");
        var constants = Constant().Matches(File.ReadAllText(Path.Combine(src, "main.ts")))
            .ToDictionary(m => m.Groups["name"].Value, m => m.Groups["value"].Value, StringComparer.Ordinal);

        Assert.Equal(DaprNames.PubSub, constants["Pubsub"]);
        Assert.Equal(DaprNames.Topics.BotMessageCreated, constants["BotMessageCreatedTopic"]);
        Assert.Equal(DaprNames.Apps.Directory, constants["DirectoryApp"]);
        Assert.Equal(DaprNames.Apps.Messaging, constants["MessagingApp"]);
        Assert.Equal(DaprNames.Bindings.BotWebhooks,
            WebhookBindingDefault().Match(File.ReadAllText(Path.Combine(src, "config.ts"))).Groups["value"].Value);
    }
}
