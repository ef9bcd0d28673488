from django.urls import path, re_path

from webui.api import documents, embeddings, keys, responses, views

app_name = "api"
# The /v1 routes take a trailing slash too, as OpenAI's do.
urlpatterns = [
    re_path(r"^v1/models/?$", views.models, name="models"),
    re_path(r"^v1/models/(?P<model_id>[^/]+)/?$", views.model, name="model"),
    re_path(r"^v1/chat/completions/?$", views.chat_completions, name="chat_completions"),
    re_path(r"^v1/completions/?$", views.completions, name="completions"),
    re_path(r"^v1/responses/?$", responses.create, name="responses"),
    re_path(r"^v1/responses/(?P<response_id>[^/]+)/?$", responses.response, name="response"),
    re_path(r"^v1/embeddings/?$", embeddings.create, name="embeddings"),
    re_path(r"^v1/collections/?$", documents.collections, name="collections"),
    re_path(r"^v1/files/?$", documents.files, name="files"),
    re_path(r"^v1/files/(?P<file_id>[^/]+)/?$", documents.file_detail, name="file"),
    path("accounts/keys/", keys.key_list, name="keys"),
    path("accounts/keys/<int:key_id>/revoke/", keys.key_revoke, name="key_revoke"),
    # Last: any other /v1 URL answers in the API's JSON error shape, not Django's HTML page.
    re_path(r"^v1(?:/.*)?$", views.unknown_url, name="unknown_url"),
]
