namespace Chat.ServiceDefaults.Auth;

/// <summary>The authenticated caller of a gRPC call: who, from which device.</summary>
public sealed record ChatUser(string UserId, string DeviceId, string UserName);
