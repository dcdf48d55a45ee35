using Chat.ServiceDefaults.Boundary;

namespace Chat.ServiceDefaults.Tests;

/// <summary>The app token check every sidecar callback passes: the expected token hashed once, the presented one per call.</summary>
[Trait("Area", "Security")]
public sealed class SidecarTokenTests
{
    [Theory]
    [InlineData("sidecar-secret", true)]
    [InlineData("sidecar-secreT", false)]
    [InlineData("sidecar-secret ", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Only_the_configured_token_matches(string? presented, bool matches) =>
        Assert.Equal(matches, SidecarToken.Matches(presented, SidecarToken.Hash("sidecar-secret")));

    [Fact]
    public void Tokens_longer_than_the_stack_buffer_and_non_ascii_ones_are_compared_whole()
    {
        var expected = new string('ä', 300) + "end";
        var hash = SidecarToken.Hash(expected);

        Assert.True(SidecarToken.Matches(expected, hash));
        Assert.False(SidecarToken.Matches(new string('ä', 300) + "enD", hash));
        Assert.False(SidecarToken.Matches(new string('ä', 300), hash));
    }
}
