using System.Security.Cryptography;

namespace Chat.Directory.Services;

/// <summary>Server-generated ids: a kind letter and 15 random base32 characters (75 bits).</summary>
public static class Ids
{
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

    public static string NewUserId() => New('u');

    public static string NewGroupId() => New('g');

    /// <summary>Bot accounts start with 'b', so subscribers tell them apart without a lookup.</summary>
    public static string NewBotId() => New(Chat.Domain.Identifiers.BotPrefix);

    private static string New(char kind)
    {
        Span<char> id = stackalloc char[16];
        id[0] = kind;
        for (var i = 1; i < id.Length; i++)
        {
            id[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }

        return new string(id);
    }
}
