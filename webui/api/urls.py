from django.urls import path

from webui.api import keys, views

app_name = "api"
urlpatterns = [
    path("v1/models", views.models, name="models"),
    path("v1/chat/completions", views.chat_completions, name="chat_completions"),
    path("v1/completions", views.completions, name="completions"),
    path("accounts/keys/", keys.key_list, name="keys"),
    path("accounts/keys/<int:key_id>/revoke/", keys.key_revoke, name="key_revoke"),
]
