namespace Dapr.DevSidecar.Tests.Infrastructure;

/// <summary>Test classes that share one redis-server (<see cref="RedisServerFixture"/>).</summary>
[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis-server";
}
