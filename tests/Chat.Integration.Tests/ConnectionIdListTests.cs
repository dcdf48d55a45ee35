using Chat.Gateway;

namespace Chat.Integration.Tests;

/// <summary>The gateway's target list for a group event: each connection once, in order, found by Contains.</summary>
[Trait("Area", "Delivery")]
public sealed class ConnectionIdListTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(40)]
    public void Ids_are_kept_once_in_order_and_found_through_the_interfaces_SignalR_uses(int count)
    {
        var ids = Enumerable.Range(0, count).Select(i => $"conn-{i}").ToList();
        var list = new ConnectionIdList();
        foreach (var id in ids.Concat(ids))
        {
            list.Add(id);
        }

        Assert.Equal(ids, list);
        Assert.Equal(count, list.Count);
        // SignalR's Clients(list) asks Enumerable.Contains, which goes through ICollection<T>.
        IReadOnlyList<string> asSignalRSeesIt = list;
        var allFound = ids.All(id => asSignalRSeesIt.Contains(id));
        var strangerFound = asSignalRSeesIt.Contains("conn-x");
        Assert.True(allFound);
        Assert.False(strangerFound);
        Assert.Equal(ids[^1], asSignalRSeesIt[count - 1]);
    }

    [Fact]
    public void A_removed_id_is_gone_from_the_order_and_from_lookups()
    {
        var list = new ConnectionIdList();
        foreach (var i in Enumerable.Range(0, 10))
        {
            list.Add($"c{i}");
        }

        Assert.True(list.Remove("c3"));
        var removedFound = list.Contains("c3");
        Assert.False(removedFound);
        Assert.Equal(9, list.Count);
        list.Add("c3");
        Assert.Equal("c3", list[^1]);
        list.Clear();
        Assert.Empty(list);
        var clearedFound = list.Contains("c0");
        Assert.False(clearedFound);
    }
}
