using Chat.Router;
using Chat.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRouterServices();

var app = builder.Build();
app.MapRouterServices();
app.Run();
