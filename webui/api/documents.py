"""Documents through the API, with the chat's access rules (webui.documents.access).

- GET /v1/collections lists the collections the caller may use.
- POST /v1/files takes a file (multipart `file`, optional `collection` id of the
  caller's); GET /v1/files/{id} tells how its indexing goes.

What /v1/chat/completions does with them is in webui.api.document_sources.
"""

from asgiref.sync import sync_to_async
from django.db.models import Count
from django.http import JsonResponse
from django.utils.datastructures import MultiValueDictKeyError

from webui.api.document_sources import DocumentNotFound
from webui.api.errors import ApiError, BodyTooLarge
from webui.api.views import _api_view, _user
from webui.documents import access, limits, services
from webui.documents.errors import DocumentRefused
from webui.documents.models import Collection, Document
from webui.documents.uploads import DocumentUploadHandler, upload_refusal


def _collection_object(collection: Collection, user) -> dict:
    return {
        "id": collection.pk,
        "object": "collection",
        "name": collection.name,
        "description": collection.description,
        "files": collection.files,
        "owned": collection.owner_id == user.pk,
        "owner": collection.owner.username,
        "created_at": int(collection.created_at.timestamp()),
    }


def _file_object(document: Document) -> dict:
    return {
        "id": document.pk,
        "object": "file",
        "bytes": document.size,
        "created_at": int(document.created_at.timestamp()),
        "filename": document.name,
        "purpose": "user_data",
        "status": document.status,
        "status_details": document.error or None,
        "collection": document.collection_id,
        "whole": document.whole,
        "passages": document.total,
        "embedded": document.done,
    }


def _list_collections(request) -> JsonResponse:
    user = _user(request)
    rows = (
        access.visible_collections(user)
        .select_related("owner")
        .annotate(files=Count("documents"))
        .order_by("name", "pk")
    )
    return JsonResponse({"object": "list", "data": [_collection_object(c, user) for c in rows]})


async def _collections(request):
    return await sync_to_async(_list_collections)(request)


def _store_file(request) -> JsonResponse:
    user = _user(request)
    # The member's limits hold while the body is parsed (webui.documents.uploads).
    request.upload_handlers.insert(
        0,
        DocumentUploadHandler(
            request, per_file=limits.max_file_bytes(), room=limits.room_bytes(user)
        ),
    )
    if refusal := upload_refusal(request):
        raise BodyTooLarge(refusal, param="file")
    try:
        upload = request.FILES["file"]
    except MultiValueDictKeyError:
        raise ApiError("Send the file as multipart form data, in 'file'.", param="file") from None
    collection = None
    if request.POST.get("collection"):
        collection = access.owned_collection(user, request.POST["collection"])
        if collection is None:
            raise DocumentNotFound(
                f"The collection {request.POST['collection']} is not one of yours.",
                param="collection",
            )
    try:
        document = services.add_document(user, upload, collection=collection)
    except DocumentRefused as exc:
        raise ApiError(exc.message, param="file", code="file_refused") from None
    return JsonResponse(_file_object(document), status=200)


async def _files(request):
    return await sync_to_async(_store_file)(request)


def _read_file(request, file_id: str) -> JsonResponse:
    user = _user(request)
    document = access.readable_document(user, file_id) if file_id.isdigit() else None
    if document is None:
        raise DocumentNotFound(f"The file {file_id} does not exist.", param="file_id")
    return JsonResponse(_file_object(document))


async def _file(request, file_id: str):
    return await sync_to_async(_read_file)(request, file_id)


_collections.methods = _file.methods = ("GET",)
_files.methods = ("POST",)

collections = _api_view(_collections)
files = _api_view(_files)
file_detail = _api_view(_file)
