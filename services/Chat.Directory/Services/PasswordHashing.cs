using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Chat.Directory.Services;

/// <summary>
/// Salted PBKDF2-HMAC-SHA256 password hashes, stored as
/// <c>pbkdf2-sha256${iterations}${salt}${hash}</c> (base64), so the iteration count can grow
/// without invalidating old hashes.
/// </summary>
public static class PasswordHashing
{
    public const int DefaultIterations = 100_000;
    private const string Scheme = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    // Checked when the user does not exist, so an unknown name costs as long as a wrong password.
    private static readonly Lazy<string> DummyHash = new(() => Hash("not-a-real-password", DefaultIterations));

    public static string Hash(string password, int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, DefaultIterations);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Join('$', Scheme, iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));
    }

    public static bool Verify(string password, string? stored)
    {
        var parts = (stored ?? DummyHash.Value).Split('$');
        if (parts.Length != 4 || parts[0] != Scheme
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1)
        {
            return false;
        }

        var salt = Convert.FromBase64String(parts[2]);
        var expected = Convert.FromBase64String(parts[3]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return stored is not null && CryptographicOperations.FixedTimeEquals(actual, expected);
    }
}
