namespace Chat.Directory.Services;

/// <summary>Directory settings, bound from <c>Chat:Directory</c>.</summary>
public sealed class DirectoryOptions
{
    public const string SectionName = "Chat:Directory";

    /// <summary>How long a refresh token lives (30 days unless configured).</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>PBKDF2-SHA256 iterations for new password hashes (at least 100,000).</summary>
    public int PasswordHashIterations { get; set; } = PasswordHashing.DefaultIterations;

    /// <summary>Most push registrations per user.</summary>
    public int MaxDevicesPerUser { get; set; } = 20;
}
