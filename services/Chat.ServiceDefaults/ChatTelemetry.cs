using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Chat.ServiceDefaults;

/// <summary>The activity source and meter the services record their own spans and metrics on.</summary>
public static class ChatTelemetry
{
    public const string ActivitySourceName = "Chat.Dapr";
    public const string MeterName = "Chat.Dapr";

    public static readonly ActivitySource ActivitySource = new(ActivitySourceName);
    public static readonly Meter Meter = new(MeterName);
}
