using System.Net;
using Chat.Domain;

namespace Chat.Domain.Tests;

/// <summary>Web Push endpoints: https, public hosts, allow-listed push services (no SSRF through the push relay).</summary>
[Trait("Category", "Unit")]
[Trait("Area", "Security")]
public sealed class PushEndpointsTests
{
    private static readonly WebPushEndpointOptions Defaults = new();

    [Theory]
    [InlineData("https://fcm.googleapis.com/fcm/send/abc:def")]
    [InlineData("https://updates.push.services.mozilla.com/wpush/v2/gAAAA")]
    [InlineData("https://wns2-par02p.notify.windows.com/w/?token=BQYAAA")]
    [InlineData("https://web.push.apple.com/QGuQyavXutnMH")]
    [InlineData("https://FCM.googleapis.com./fcm/send/x")]
    public void Real_push_services_are_accepted(string endpoint) =>
        Assert.Null(PushEndpoints.Check(endpoint, Defaults));

    [Theory]
    [InlineData("http://fcm.googleapis.com/fcm/send/x", "https")]
    [InlineData("https://127.0.0.1/x", "private")]
    [InlineData("https://10.1.2.3/x", "private")]
    [InlineData("https://169.254.169.254/latest/meta-data", "private")]
    [InlineData("https://[::1]/x", "private")]
    [InlineData("https://[fd00::1]/x", "private")]
    [InlineData("https://[::ffff:192.168.1.1]/x", "private")]
    [InlineData("https://8.8.8.8/x", "IP address")]
    [InlineData("https://localhost/x", "not a public host")]
    [InlineData("https://push.localhost/x", "not a public host")]
    [InlineData("https://relay.chat.svc.cluster.local/x", "not a public host")]
    [InlineData("https://metadata/x", "not a public host")]
    [InlineData("https://evil.example.com/x", "not a known push service")]
    [InlineData("https://fcm.googleapis.com.evil.example/x", "not a known push service")]
    [InlineData("https://notfcm.googleapis.com/x", "not a known push service")]
    [InlineData("https://user:pw@fcm.googleapis.com/x", "credentials")]
    [InlineData("https://fcm.googleapis.com:8443/x", "port")]
    [InlineData("ftp://fcm.googleapis.com/x", "https")]
    [InlineData("not a url", "absolute https URL")]
    public void Other_endpoints_are_refused_with_the_reason(string endpoint, string reason)
    {
        var error = PushEndpoints.Check(endpoint, Defaults);
        Assert.NotNull(error);
        Assert.Equal(ErrorCodes.InvalidPushEndpoint, error.Code);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_allow_list_and_explicit_local_origins_come_from_configuration()
    {
        var options = new WebPushEndpointOptions { AllowedHostSuffixes = ["push.example.net"], AllowedOrigins = ["http://127.0.0.1:5080"] };
        Assert.Null(PushEndpoints.Check("https://eu.push.example.net/s/1", options));
        Assert.NotNull(PushEndpoints.Check("https://fcm.googleapis.com/fcm/send/x", options)); // the list replaces the defaults
        Assert.Null(PushEndpoints.Check("http://127.0.0.1:5080/dev/push-sink/webpush/1", options));
        Assert.NotNull(PushEndpoints.Check("http://127.0.0.1:5081/x", options));
        Assert.NotNull(PushEndpoints.Check("http://127.0.0.1:5080/x", Defaults));
    }

    [Theory]
    [InlineData("100.64.0.1", false)]
    [InlineData("172.16.0.1", false)]
    [InlineData("172.32.0.1", true)]
    [InlineData("192.168.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("2001:4860:4860::8888", true)]
    [InlineData("142.250.74.110", true)]
    public void Address_ranges(string address, bool isPublic) =>
        Assert.Equal(isPublic, PushEndpoints.IsPublic(IPAddress.Parse(address)));
}
