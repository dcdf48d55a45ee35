using System.Text;
using System.Text.Json;

namespace Dapr.DevSidecar.Actors;

/// <summary>
/// When a reminder or timer fires: first at <see cref="FirstDue"/>, then by <see cref="Period"/>
/// while repetitions last and before <see cref="Expires"/>. Built from the request strings
/// exactly as daprd reads them (dueTime and ttl: duration or RFC 3339 time; ttl counts from
/// the first due time).
/// </summary>
public sealed record ActorSchedule(DateTimeOffset FirstDue, ActorPeriod Period, DateTimeOffset? Expires)
{
    public static ActorSchedule Parse(string? dueTime, string? period, string? ttl, DateTimeOffset now, string what)
    {
        DateTimeOffset due;
        try
        {
            due = string.IsNullOrEmpty(dueTime) ? now : ActorDurations.ParseTime(dueTime, now);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"error parsing {what} due time: {ex.Message}");
        }

        ActorPeriod p;
        try
        {
            p = ActorDurations.ParsePeriod(period);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"invalid {what} period: {ex.Message}");
        }

        DateTimeOffset? expires = null;
        if (!string.IsNullOrEmpty(ttl))
        {
            try
            {
                expires = ActorDurations.ParseTime(ttl, due);
            }
            catch (FormatException ex)
            {
                throw new FormatException($"error parsing {what} TTL: {ex.Message}");
            }

            if (now > expires || due > expires)
            {
                throw new FormatException($"{what} has already expired: dueTime: {due:O} TTL: {ttl}");
            }
        }

        return new ActorSchedule(due, p, expires);
    }
}

/// <summary>
/// The JSON body daprd sends to the app when a reminder or timer fires:
/// <c>{"data":…,"dueTime":"…","period":"…"}</c>, plus <c>"callback"</c> for timers. <c>data</c>
/// is the raw JSON the caller registered (the .NET SDK sends a base64 string).
/// </summary>
internal static class CallbackBody
{
    public static byte[] Write(string? data, string? dueTime, string? period, string? callback)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            if (!string.IsNullOrEmpty(data))
            {
                w.WritePropertyName("data");
                w.WriteRawValue(data, skipInputValidation: false);
            }

            w.WriteString("dueTime", dueTime ?? "");
            w.WriteString("period", period ?? "");
            if (callback is not null)
            {
                w.WriteString("callback", callback);
            }

            w.WriteEndObject();
        }

        return stream.ToArray();
    }

    /// <summary>Raw JSON of a <c>data</c> given as bytes (gRPC): kept if it is JSON, else a base64 string.</summary>
    public static string? FromBytes(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return null;
        }

        try
        {
            var reader = new Utf8JsonReader(data);
            if (JsonDocument.TryParseValue(ref reader, out var doc))
            {
                doc.Dispose();
                return Encoding.UTF8.GetString(data);
            }
        }
        catch (JsonException)
        {
            // not JSON
        }

        return JsonSerializer.Serialize(Convert.ToBase64String(data));
    }
}

/// <summary>A running actor timer (in memory, per activation, as in daprd).</summary>
internal sealed class ActorTimer(string name, string? callback, string? data, string? dueTime, string? period, ActorSchedule schedule)
{
    private readonly CancellationTokenSource _cts = new();

    public string Name { get; } = name;

    public string? Callback { get; } = callback;

    public ActorSchedule Schedule { get; } = schedule;

    public CancellationToken Token => _cts.Token;

    public byte[] Body() => CallbackBody.Write(data, dueTime, period, Callback);

    public void Cancel()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // already stopped
        }
    }
}
