using System.Reflection;

namespace Chat.Unit.Tests;

/// <summary>The tier's contract: every test here is selected by <c>--filter Category=Unit</c> and names its area.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class TierTraitsTests
{
    [Fact]
    public void Every_test_class_carries_the_unit_category_and_one_area()
    {
        var testClasses = typeof(TierTraitsTests).Assembly.GetTypes()
            .Where(t => t.GetMethods().Any(m => m.GetCustomAttributes<FactAttribute>(inherit: true).Any()))
            .ToList();

        var wrong = testClasses
            .Select(t => (Type: t, Traits: t.GetCustomAttributesData()
                .Where(a => a.AttributeType == typeof(TraitAttribute))
                .Select(a => ((string)a.ConstructorArguments[0].Value!, (string)a.ConstructorArguments[1].Value!)).ToList()))
            .Where(x => !x.Traits.Contains(("Category", "Unit")) || x.Traits.Count(t => t.Item1 == "Area") != 1)
            .Select(x => x.Type.Name)
            .ToList();

        Assert.True(testClasses.Count > 10);
        Assert.Empty(wrong);
    }
}
