using Chat.Contracts.V1;
using Chat.Delivery.Media;
using Chat.Domain;
using Dapr;

namespace Chat.Delivery;

/// <summary>Uploads reported by the gateway: thumbnails of images (see <see cref="Thumbnails"/>).</summary>
public static partial class EventHandlers
{
    private static void MapMediaEventHandlers(this WebApplication app) =>
        app.MapPost("/events/media-uploaded", OnMediaUploadedAsync).WithTopic(DaprNames.PubSub, DaprNames.Topics.MediaUploaded);

    private static Task<IResult> OnMediaUploadedAsync(HttpRequest request, Thumbnails thumbnails, ILoggerFactory logs) =>
        Handle(request, logs, (MediaUploaded evt, CancellationToken ct) => thumbnails.MakeAsync(evt, ct));
}
