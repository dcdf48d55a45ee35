using System.Text;
using System.Text.Json.Nodes;

namespace Dapr.DevSidecar.PubSub;

/// <summary>
/// The part of CEL that routing rules use in practice: <c>event.&lt;field&gt;</c> (nested with
/// dots) compared with a string literal by <c>==</c> or <c>!=</c>, combined with <c>&amp;&amp;</c>,
/// <c>||</c>, <c>!</c> and parentheses, plus <c>true</c>/<c>false</c>. Anything else is
/// refused when the subscription is loaded, naming the expression.
/// </summary>
public sealed class RouteMatch
{
    private readonly Node _root;

    private RouteMatch(string expression, Node root)
    {
        Expression = expression;
        _root = root;
    }

    public string Expression { get; }

    /// <summary>Parses <paramref name="expression"/>; throws <see cref="FormatException"/> naming what is not supported.</summary>
    public static RouteMatch Parse(string expression)
    {
        var parser = new Parser(Tokenize(expression), expression);
        var node = parser.ParseOr();
        parser.ExpectEnd();
        return new RouteMatch(expression, node);
    }

    public bool Matches(JsonObject cloudEvent) => _root.Eval(cloudEvent) is true;

    public override string ToString() => Expression;

    private abstract record Node
    {
        public abstract object? Eval(JsonObject ce);
    }

    private sealed record Literal(object Value) : Node
    {
        public override object? Eval(JsonObject ce) => Value;
    }

    private sealed record Field(string[] Path) : Node
    {
        public override object? Eval(JsonObject ce)
        {
            JsonNode? node = ce;
            foreach (var part in Path)
            {
                node = node is JsonObject o && o.TryGetPropertyValue(part, out var child) ? child : null;
            }

            return node switch
            {
                null => null,
                JsonValue v when v.TryGetValue<string>(out var s) => s,
                JsonValue v when v.TryGetValue<bool>(out var b) => b,
                _ => node.ToJsonString(),
            };
        }
    }

    private sealed record Binary(string Op, Node Left, Node Right) : Node
    {
        public override object? Eval(JsonObject ce) => Op switch
        {
            "&&" => Left.Eval(ce) is true && Right.Eval(ce) is true,
            "||" => Left.Eval(ce) is true || Right.Eval(ce) is true,
            "==" => Equals(Left.Eval(ce), Right.Eval(ce)),
            _ => !Equals(Left.Eval(ce), Right.Eval(ce)),
        };
    }

    private sealed record Not(Node Inner) : Node
    {
        public override object? Eval(JsonObject ce) => Inner.Eval(ce) is not true;
    }

    private static List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c is '"' or '\'')
            {
                var sb = new StringBuilder().Append('"');
                i++;
                while (i < text.Length && text[i] != c)
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    sb.Append(text[i++]);
                }

                if (i >= text.Length)
                {
                    throw new FormatException($"unterminated string in match expression '{text}'");
                }

                i++;
                tokens.Add(sb.ToString());
            }
            else if (i + 1 < text.Length && text.Substring(i, 2) is "==" or "!=" or "&&" or "||")
            {
                tokens.Add(text.Substring(i, 2));
                i += 2;
            }
            else if (c is '(' or ')' or '!')
            {
                tokens.Add(c.ToString());
                i++;
            }
            else if (char.IsLetter(c) || c == '_')
            {
                var start = i;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '_' or '.'))
                {
                    i++;
                }

                tokens.Add(text[start..i]);
            }
            else
            {
                throw new FormatException($"the dev sidecar does not support '{c}' in match expression '{text}' (supported: event.<field> == or != \"string\", &&, ||, !, parentheses)");
            }
        }

        return tokens;
    }

    private sealed class Parser(List<string> tokens, string text)
    {
        private int _pos;

        private string? Peek => _pos < tokens.Count ? tokens[_pos] : null;

        public void ExpectEnd()
        {
            if (Peek is { } t)
            {
                throw Unsupported($"unexpected '{t}'");
            }
        }

        public Node ParseOr()
        {
            var left = ParseAnd();
            while (Peek == "||")
            {
                _pos++;
                left = new Binary("||", left, ParseAnd());
            }

            return left;
        }

        private Node ParseAnd()
        {
            var left = ParseUnary();
            while (Peek == "&&")
            {
                _pos++;
                left = new Binary("&&", left, ParseUnary());
            }

            return left;
        }

        private Node ParseUnary()
        {
            if (Peek == "!")
            {
                _pos++;
                return new Not(ParseUnary());
            }

            if (Peek == "(")
            {
                _pos++;
                var inner = ParseOr();
                if (Peek != ")")
                {
                    throw Unsupported("missing ')'");
                }

                _pos++;
                return inner;
            }

            var left = ParseOperand();
            if (Peek is "==" or "!=")
            {
                var op = tokens[_pos++];
                return new Binary(op, left, ParseOperand());
            }

            return left;
        }

        private Node ParseOperand()
        {
            var t = Peek ?? throw Unsupported("unexpected end");
            _pos++;
            if (t.StartsWith('"'))
            {
                return new Literal(t[1..]);
            }

            if (t is "true" or "false")
            {
                return new Literal(t == "true");
            }

            if (t.StartsWith("event.", StringComparison.Ordinal) && t.Length > 6 && !t.EndsWith('.'))
            {
                return new Field(t[6..].Split('.'));
            }

            throw Unsupported($"'{t}' is not supported");
        }

        private FormatException Unsupported(string what) =>
            new($"match expression '{text}': {what}. The dev sidecar supports event.<field> == or != \"string\", &&, ||, !, parentheses, true, false");
    }
}
