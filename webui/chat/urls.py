from django.urls import path

from webui.chat import views

app_name = "chat"
urlpatterns = [
    path("", views.home, name="home"),
    path("c/new/", views.start, name="start"),
    path("c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("m/<int:message_id>/stop/", views.stop, name="stop"),
]
