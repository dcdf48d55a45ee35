using Chat.Directory;
using Chat.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddDirectoryServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapDirectoryServices();
app.Run();
