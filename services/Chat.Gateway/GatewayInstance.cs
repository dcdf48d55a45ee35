namespace Chat.Gateway;

/// <summary>
/// This gateway process's identity: its instance id names its delivery topic
/// (<c>deliveries.{id}</c>) and its lease. Configured as <c>Gateway:InstanceId</c>, or made
/// unique at start-up.
/// </summary>
public sealed class GatewayInstance(IConfiguration configuration)
{
    public string Id { get; } = configuration["Gateway:InstanceId"] is { Length: > 0 } configured
        ? configured
        : $"{configuration["APP_ID"] ?? "gateway"}-{Guid.NewGuid().ToString("N")[..8]}";
}
