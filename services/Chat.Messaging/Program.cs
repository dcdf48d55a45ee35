using Chat.Messaging;
using Chat.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddMessagingServices();

var app = builder.Build();
app.MapMessagingServices();
app.Run();
