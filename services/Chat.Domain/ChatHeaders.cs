namespace Chat.Domain;

/// <summary>gRPC metadata the gateway adds to calls it forwards for a user.</summary>
public static class ChatHeaders
{
    /// <summary>
    /// The SignalR connection a SendMessage came from, so delivery leaves out exactly that
    /// connection (it has the ack) and the sender's other tabs and devices still get the message.
    /// </summary>
    public const string ConnectionId = "x-chat-connection-id";

    /// <summary>Longest connection id passed on (SignalR's are 22 characters).</summary>
    public const int MaxConnectionIdLength = 64;
}
