using Chat.Presence;
using Chat.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddPresenceServices();

var app = builder.Build();
app.MapPresenceServices();
app.Run();
