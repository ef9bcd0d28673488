from django.urls import path

from webui.chat import (
    conversation_views,
    feedback_views,
    message_views,
    saved_prompt_views,
    transfer_views,
    views,
)

app_name = "chat"
urlpatterns = [
    path("", views.home, name="home"),
    path("archived/", views.archived, name="archived"),
    path("sidebar/", views.sidebar_page, name="sidebar"),
    path("search/", views.search_page, name="search"),
    path("c/new/", views.start, name="start"),
    path("c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("c/<int:conversation_id>/rename/", views.rename, name="rename"),
    path("c/<int:conversation_id>/arrange/", views.arrange, name="arrange"),
    path("c/<int:conversation_id>/delete/", views.delete, name="delete"),
    path("c/<int:conversation_id>/settings/", conversation_views.settings, name="settings"),
    path("c/<int:conversation_id>/earlier/", conversation_views.earlier, name="earlier"),
    path("c/<int:conversation_id>/share/", conversation_views.share, name="share"),
    path("s/<str:token>/", conversation_views.shared, name="shared"),
    path("models/states/", conversation_views.model_states, name="model_states"),
    path(
        "c/<int:conversation_id>/export.md",
        transfer_views.export_one,
        {"kind": "md"},
        name="export_md",
    ),
    path(
        "c/<int:conversation_id>/export.json",
        transfer_views.export_one,
        {"kind": "json"},
        name="export_json",
    ),
    path("export.json", transfer_views.export_all, name="export_all"),
    path("import/", transfer_views.import_page, name="import"),
    path("m/<int:message_id>/stop/", views.stop, name="stop"),
    path("m/<int:message_id>/delete/", message_views.delete, name="message_delete"),
    path("m/<int:message_id>/feedback/", feedback_views.rate, name="feedback"),
    path("prompts/", saved_prompt_views.index, name="prompts"),
    path("prompts/menu.json", saved_prompt_views.menu, name="prompts_menu"),
    path("prompts/<int:prompt_id>/", saved_prompt_views.edit, name="prompt_edit"),
    path("prompts/<int:prompt_id>/delete/", saved_prompt_views.delete, name="prompt_delete"),
]
