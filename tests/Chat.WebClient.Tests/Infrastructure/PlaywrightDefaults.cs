using System.Runtime.CompilerServices;
using Microsoft.Playwright;

namespace Chat.WebClient.Tests.Infrastructure;

internal static class PlaywrightDefaults
{
    /// <summary>Assertions wait up to 20 s: the whole system and Chromium share two cores with other work.</summary>
    [ModuleInitializer]
    internal static void Init() => Assertions.SetDefaultExpectTimeout(20_000);
}
