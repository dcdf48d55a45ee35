using System.Text.Json;
using Chat.Core.Routing;

namespace Chat.Unit.Tests.Delivery;

/// <summary>Delivery reads only the gateway ids out of each member's stored routes.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class RouteGatewaysTests
{
    // As the Dapr client stores it (web defaults: camelCase).
    private static string Stored(params string[] gateways) => JsonSerializer.Serialize(
        new UserRoutes("ann", gateways.Select((g, i) => new UserConnection($"c{i}", $"d{i}", g, DateTimeOffset.UnixEpoch)).ToList()),
        new JsonSerializerOptions(JsonSerializerDefaults.Web));

    [Fact]
    public void Each_gateway_of_the_user_is_read_once_in_order()
    {
        var into = new List<string>();

        Assert.True(RouteGateways.TryRead(Stored("gw-2", "gw-1", "gw-2"), [], into));

        Assert.Equal(["gw-2", "gw-1"], into);
    }

    [Fact]
    public void A_gateway_id_seen_before_is_the_same_string_and_new_ones_are_remembered()
    {
        // A distinct instance equal to "gw-1", so Same() tells reuse from a fresh read.
        var known = new List<string> { string.Concat("gw", "-1".AsSpan()) };
        var into = new List<string>();

        Assert.True(RouteGateways.TryRead(Stored("gw-1", "gw-9"), known, into));

        Assert.Same(known[0], into[0]);
        Assert.Equal(["gw-1", "gw-9"], known);
    }

    [Fact]
    public void Names_are_read_regardless_of_case_and_unknown_properties_are_skipped()
    {
        const string json = """{"UserId":"ann","extra":{"connections":[{"gatewayInstanceId":"no"}]},"Connections":[{"ConnectionId":"c","GatewayInstanceId":"gw-1","more":[1,2]}]}""";
        var into = new List<string>();

        Assert.True(RouteGateways.TryRead(json, [], into));

        Assert.Equal(["gw-1"], into);
    }

    [Fact]
    public void A_user_without_connections_has_no_gateway()
    {
        var into = new List<string>();

        Assert.True(RouteGateways.TryRead(Stored(), [], into));

        Assert.Empty(into);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"connections":[{"gatewayInstanceId":""")]
    public void An_unreadable_document_is_reported(string json) =>
        Assert.False(RouteGateways.TryRead(json, [], []));
}
