using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Chat.Core.Routing;

/// <summary>
/// Reads only the gateway instance ids out of a stored <see cref="Chat.Core.Routing.UserRoutes"/>
/// document (the Dapr client's JSON, camelCase). A group send reads one such document per member;
/// materializing the full records (ids, devices, timestamps) was most of delivery's CPU per member.
/// </summary>
public static class RouteGateways
{
    private static ReadOnlySpan<byte> Connections => "connections"u8;

    private static ReadOnlySpan<byte> GatewayInstanceId => "gatewayInstanceId"u8;

    /// <summary>
    /// Adds the distinct gateway instance ids of <paramref name="json"/>'s connections to
    /// <paramref name="into"/>, reusing a string of <paramref name="known"/> when the id is one of
    /// them (a deployment has few gateways; a group has many members). False when the document is not readable.
    /// </summary>
    public static bool TryRead(string json, List<string> known, List<string> into)
    {
        var max = Encoding.UTF8.GetMaxByteCount(json.Length);
        var rented = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            var length = Encoding.UTF8.GetBytes(json, rented);
            return TryRead(rented.AsSpan(0, length), known, into);
        }
        catch (JsonException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool TryRead(ReadOnlySpan<byte> utf8, List<string> known, List<string> into)
    {
        var reader = new Utf8JsonReader(utf8);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isConnections = NameIs(ref reader, Connections);
            reader.Read();
            if (!isConnections || reader.TokenType != JsonTokenType.StartArray)
            {
                reader.Skip();
                continue;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isGateway = NameIs(ref reader, GatewayInstanceId);
                    reader.Read();
                    if (isGateway && reader.TokenType == JsonTokenType.String)
                    {
                        Add(ref reader, known, into);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
        }

        return true;
    }

    // The Dapr client reads JSON case-insensitively (web defaults); so does this.
    private static bool NameIs(ref Utf8JsonReader reader, ReadOnlySpan<byte> name) =>
        reader.ValueTextEquals(name) || (reader.ValueSpan.Length == name.Length && !reader.ValueIsEscaped && Ascii.EqualsIgnoreCase(reader.ValueSpan, name));

    private static void Add(ref Utf8JsonReader reader, List<string> known, List<string> into)
    {
        string? id = null;
        foreach (var k in known)
        {
            if (reader.ValueTextEquals(k))
            {
                id = k;
                break;
            }
        }

        if (id is null)
        {
            id = reader.GetString()!;
            known.Add(id);
        }

        if (!into.Contains(id))
        {
            into.Add(id);
        }
    }
}
