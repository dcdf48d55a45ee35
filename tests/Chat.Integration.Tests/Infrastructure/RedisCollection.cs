namespace Chat.Integration.Tests.Infrastructure;

/// <summary>Test classes that share one redis-server (<see cref="RedisServerFixture"/>) for the whole run.</summary>
[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis";
}
