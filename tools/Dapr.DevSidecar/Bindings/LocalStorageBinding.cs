using System.Text;
using System.Text.Json;
using Dapr.DevSidecar.Components;

namespace Dapr.DevSidecar.Bindings;

/// <summary>
/// <c>bindings.localstorage</c> as the Dapr docs and components-contrib describe it: files under
/// <c>rootPath</c> (created at load; relative to the working directory; /proc, /sys, /boot and
/// /var/run/secrets refused). Operations create, get, list and delete, the file named by request
/// metadata <c>fileName</c> (create without it picks a random UUID). Create stores the data
/// unquoted if it is a JSON string, and base64-decoded if it is valid base64, and answers
/// <c>{"fileName": "&lt;path relative to rootPath&gt;"}</c>; list answers a JSON array of the
/// files' absolute paths under the named folder (default: rootPath). A file name can never
/// leave rootPath: <c>..</c> stops at the root, as daprd's secure join does. Symbolic links
/// inside rootPath are not followed here; a name that passes through one is refused.
/// </summary>
public sealed class LocalStorageBinding : IOutputBinding
{
    private const string FileNameKey = "fileName";
    private static readonly string[] Ops = ["create", "get", "list", "delete"];
    private static readonly string[] Disallowed = ["/proc", "/sys", "/boot", "/var/run/secrets"];

    private readonly string _root;

    public LocalStorageBinding(ComponentDefinition def)
    {
        var root = def.Get("rootPath") ?? throw new ComponentLoadException(def.SourceFile, "spec.metadata[rootPath]", "property rootPath must not be empty");
        _root = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar);
        if (_root.Length == 0)
        {
            _root = "/";
        }

        if (Disallowed.Any(d => _root == d || _root.StartsWith(d + "/", StringComparison.Ordinal)))
        {
            throw new ComponentLoadException(def.SourceFile, "spec.metadata[rootPath]", "property rootPath points to a disallowed location");
        }

        if (File.Exists(_root))
        {
            throw new ComponentLoadException(def.SourceFile, "spec.metadata[rootPath]", "property rootPath represents a file and not a directory");
        }

        Directory.CreateDirectory(_root);
    }

    public IReadOnlyList<string> Operations => Ops;

    public async Task<BindingResponse> InvokeAsync(BindingRequest request, CancellationToken cancellationToken)
    {
        var name = request.Metadata.TryGetValue(FileNameKey, out var n) ? n : "";
        if (name.Length == 0 && request.Operation == "create")
        {
            name = Guid.NewGuid().ToString();
        }

        var (absolute, relative) = Resolve(name);
        switch (request.Operation)
        {
            case "create":
                Directory.CreateDirectory(Path.GetDirectoryName(absolute)!);
                await File.WriteAllBytesAsync(absolute, Decode(request.Data), cancellationToken);
                return new BindingResponse(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["fileName"] = relative }), Empty);
            case "get":
                if (!File.Exists(absolute))
                {
                    throw new BindingException($"file not found: {absolute}");
                }

                return new BindingResponse(await File.ReadAllBytesAsync(absolute, cancellationToken), Empty);
            case "delete":
                if (!File.Exists(absolute))
                {
                    throw new BindingException($"error deleting file {absolute}: no such file or directory");
                }

                File.Delete(absolute);
                return new BindingResponse([], Empty);
            case "list":
                if (!Directory.Exists(absolute))
                {
                    throw new BindingException(File.Exists(absolute)
                        ? $"unable to list files as the file specified is not a directory: {absolute}"
                        : $"error getting stats for path {absolute}: no such file or directory");
                }

                var files = Directory.EnumerateFiles(absolute, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
                return new BindingResponse(JsonSerializer.SerializeToUtf8Bytes(files.Count == 0 ? null : files), Empty);
            default:
                throw new BindingException($"unsupported operation {request.Operation}");
        }
    }

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    // A JSON string is unquoted first; then valid base64 is decoded (as daprd does; text that
    // happens to be valid base64 is decoded too).
    private static byte[] Decode(byte[] data)
    {
        var bytes = data;
        if (bytes.Length >= 2 && bytes[0] == '"')
        {
            try
            {
                if (JsonSerializer.Deserialize<string>(bytes) is { } unquoted)
                {
                    bytes = Encoding.UTF8.GetBytes(unquoted);
                }
            }
            catch (JsonException)
            {
                // Not a JSON string: stored as sent.
            }
        }

        var text = Encoding.UTF8.GetString(bytes);
        var buffer = new byte[text.Length];
        return bytes.Length > 0 && bytes.Length % 4 == 0 && Convert.TryFromBase64String(text, buffer, out var written) && !text.Any(char.IsWhiteSpace)
            ? buffer[..written]
            : bytes;
    }

    // The name joined to the root with ".." stopping at the root; symbolic links on the way are refused.
    private (string Absolute, string Relative) Resolve(string name)
    {
        var parts = new List<string>();
        foreach (var segment in name.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (segment != ".")
            {
                parts.Add(segment);
            }
        }

        var path = _root;
        foreach (var part in parts)
        {
            path = Path.Combine(path, part);
            if (new FileInfo(path).LinkTarget is not null)
            {
                throw new BindingException($"error getting absolute path for file {name}: {path} is a symbolic link, which the dev sidecar's bindings.localstorage does not follow");
            }
        }

        return (path, parts.Count == 0 ? "." : string.Join('/', parts));
    }
}
