using Chat.Delivery;
using Chat.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddDeliveryServices();

var app = builder.Build();
app.MapDeliveryServices();
app.Run();
