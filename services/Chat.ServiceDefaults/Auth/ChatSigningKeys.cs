using System.Text;
using Chat.Domain;
using Dapr;
using Dapr.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Chat.ServiceDefaults.Auth;

/// <summary>Where the JWT signing key comes from. Tests register their own to supply a key directly.</summary>
public interface IChatSigningKeyProvider
{
    /// <summary>The HS256 key, at least 32 bytes. May wait (for a sidecar) until <paramref name="cancellationToken"/> fires.</summary>
    Task<byte[]> GetSigningKeyAsync(CancellationToken cancellationToken);
}

/// <summary>A key known up front.</summary>
public sealed class StaticChatSigningKeyProvider(byte[] key) : IChatSigningKeyProvider
{
    public Task<byte[]> GetSigningKeyAsync(CancellationToken cancellationToken) => Task.FromResult(key);
}

/// <summary>Parsing rules for the signing key secret.</summary>
public static class ChatSigningKeys
{
    public const int MinKeyBytes = 32;

    /// <summary>
    /// The key bytes of a secret value: base64 when it decodes to at least 32 bytes, else the
    /// UTF-8 bytes of the text. Throws when the result is shorter than 32 bytes.
    /// </summary>
    public static byte[] Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var trimmed = value.Trim();
        var buffer = new byte[trimmed.Length];
        if (Convert.TryFromBase64String(trimmed, buffer, out var written) && written >= MinKeyBytes)
        {
            return buffer[..written];
        }

        var raw = Encoding.UTF8.GetBytes(trimmed);
        return raw.Length >= MinKeyBytes
            ? raw
            : throw new InvalidOperationException(
                $"The JWT signing key secret is {raw.Length} bytes; it must be at least {MinKeyBytes} bytes (raw text or base64).");
    }
}

/// <summary>
/// Reads the key from the Dapr secret store (<see cref="DaprNames.Secrets.Store"/> /
/// <see cref="DaprNames.Secrets.JwtSigningKey"/>) with the official client: waits for the
/// sidecar, then retries until the store answers. A store that answers without a usable
/// key is a configuration error and fails at once.
/// </summary>
public sealed class DaprSecretSigningKeyProvider(DaprClient dapr, ILogger<DaprSecretSigningKeyProvider> logger) : IChatSigningKeyProvider
{
    private const int MaxAnsweredFailures = 5;

    public async Task<byte[]> GetSigningKeyAsync(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        var answeredFailures = 0;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await dapr.WaitForSidecarAsync(cancellationToken);
                var secret = await dapr.GetSecretAsync(DaprNames.Secrets.Store, DaprNames.Secrets.JwtSigningKey, cancellationToken: cancellationToken);
                if (!secret.TryGetValue(DaprNames.Secrets.JwtSigningKey, out var value) || string.IsNullOrEmpty(value))
                {
                    throw new InvalidOperationException(
                        $"Secret store '{DaprNames.Secrets.Store}' has no value '{DaprNames.Secrets.JwtSigningKey}' for the JWT signing key.");
                }

                return ChatSigningKeys.Parse(value);
            }
            catch (Exception ex) when (ex is DaprException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                // The sidecar not answering yet is normal at start-up: retry without end. A store
                // that answers with an error (missing secret, unknown store) gets a few tries only.
                var answered = ex is DaprException { InnerException: Grpc.Core.RpcException rpc }
                    && rpc.StatusCode is not (Grpc.Core.StatusCode.Unavailable or Grpc.Core.StatusCode.DeadlineExceeded);
                if (answered && ++answeredFailures >= MaxAnsweredFailures)
                {
                    throw new InvalidOperationException(
                        $"Dapr secret store '{DaprNames.Secrets.Store}' refused the JWT signing key '{DaprNames.Secrets.JwtSigningKey}': {ex.Message}", ex);
                }

                logger.LogWarning("Reading the JWT signing key from Dapr secret store '{Store}' failed (attempt {Attempt}): {Error}; retrying.",
                    DaprNames.Secrets.Store, attempt, ex.Message);
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
            }
        }
    }
}

/// <summary>Loads the signing key once at start-up and hands it to <see cref="ChatTokenService"/>.</summary>
public sealed class ChatSigningKeyLoader(IChatSigningKeyProvider provider, ChatTokenService tokens, ILogger<ChatSigningKeyLoader> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            tokens.SetSigningKey(await provider.GetSigningKeyAsync(stoppingToken));
            logger.LogInformation("JWT signing key loaded.");
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            tokens.SetSigningKeyFailed(new InvalidOperationException("The service stopped before the JWT signing key was loaded."));
        }
        catch (Exception ex)
        {
            tokens.SetSigningKeyFailed(ex);
            logger.LogCritical(ex, "The JWT signing key could not be loaded; no call can be authenticated.");
            throw;
        }
    }
}
