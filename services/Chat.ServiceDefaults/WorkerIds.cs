using Microsoft.Extensions.Configuration;

namespace Chat.ServiceDefaults;

/// <summary>Picks the Snowflake worker id (0..1023) of this process.</summary>
public static class WorkerIds
{
    /// <summary>
    /// <c>Chat:WorkerId</c> (or CHAT_WORKER_ID) when configured — give each instance its own in
    /// production (e.g. the pod ordinal). Otherwise a random one: ids stay unique unless two
    /// instances draw the same number in the same millisecond, and order never relies on them
    /// (per-conversation seq does).
    /// </summary>
    public static int FromConfiguration(IConfiguration configuration)
    {
        var configured = configuration["Chat:WorkerId"] ?? configuration["CHAT_WORKER_ID"];
        if (int.TryParse(configured, out var id) && id is >= 0 and <= 1023)
        {
            return id;
        }

        return Random.Shared.Next(0, 1024);
    }
}
