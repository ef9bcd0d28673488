from django.urls import path

from webui.documents import collection_views, viewer

app_name = "documents"
urlpatterns = [
    path("collections/", collection_views.collections, name="collections"),
    path("collections/menu.json", collection_views.menu, name="collections_menu"),
    path("collections/<int:collection_id>/", collection_views.collection, name="collection"),
    path("collections/<int:collection_id>/files/", collection_views.upload, name="upload"),
    path("collections/<int:collection_id>/share/", collection_views.share, name="share"),
    path("collections/<int:collection_id>/delete/", collection_views.delete, name="delete"),
    path("files/<int:document_id>/", viewer.document, name="document"),
    path("files/<int:document_id>/delete/", collection_views.delete_file, name="delete_file"),
]
