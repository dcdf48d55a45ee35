using System.Text.Json;
using StackExchange.Redis;

namespace Dapr.DevSidecar.PubSub;

/// <summary>Reading Redis Streams replies and entries in components-contrib's layout (<c>data</c> and <c>metadata</c> fields).</summary>
internal static class RedisStreamEntries
{
    /// <summary>
    /// The entries of an <c>XREADGROUP</c> reply: nil when the block timed out; else, per stream,
    /// <c>[[id, [field, value, ...]], ...]</c>, in RESP2 as <c>[[stream, entries], ...]</c> and in
    /// RESP3 as a map <c>{stream: entries}</c> (which the client hands over as <c>[stream, entries, ...]</c>).
    /// </summary>
    public static List<StreamEntry> ReadEntries(RedisResult result)
    {
        var entries = new List<StreamEntry>();
        if (result.IsNull)
        {
            return entries;
        }

        var top = (RedisResult[])result!;
        var perStream = new List<RedisResult>(1);
        if (result.Resp3Type == ResultType.Map)
        {
            for (var i = 1; i < top.Length; i += 2)
            {
                perStream.Add(top[i]);
            }
        }
        else
        {
            foreach (var stream in top)
            {
                var streamParts = (RedisResult[])stream!;
                if (streamParts.Length >= 2)
                {
                    perStream.Add(streamParts[1]);
                }
            }
        }

        foreach (var streamEntries in perStream)
        {
            if (streamEntries.IsNull)
            {
                continue;
            }

            foreach (var item in (RedisResult[])streamEntries!)
            {
                var parts = (RedisResult[])item!;
                var fields = parts.Length > 1 && !parts[1].IsNull ? (RedisResult[])parts[1]! : [];
                var values = new NameValueEntry[fields.Length / 2];
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = new NameValueEntry((RedisValue)fields[2 * i], (RedisValue)fields[(2 * i) + 1]);
                }

                entries.Add(new StreamEntry((RedisValue)parts[0], values));
            }
        }

        return entries;
    }

    public static PubSubMessage ToMessage(string topic, StreamEntry entry)
    {
        byte[] data = [];
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in entry.Values)
        {
            if (field.Name == "data")
            {
                data = (byte[]?)field.Value ?? [];
            }
            else if (field.Name == "metadata" && field.Value.HasValue)
            {
                try
                {
                    metadata = JsonSerializer.Deserialize<Dictionary<string, string>>(field.Value.ToString()) ?? metadata;
                }
                catch (JsonException)
                {
                    // components-contrib also ignores unreadable metadata.
                }
            }
        }

        return new PubSubMessage(topic, data, metadata);
    }
}
