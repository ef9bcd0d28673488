"""Rows for the retrieval tests: documents made ready with their passages written
directly (the indexing job is tested on its own), vectors from the real worker or none."""

import hashlib

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from webui.chat.models import Conversation
from webui.documents.models import Collection, ConversationCollection, Document, Passage


def user(name: str, *groups: Group):
    account = get_user_model().objects.create_user(name, password=f"pw-{name}-12345")
    account.groups.add(*groups)
    return account


def conversation(owner, title: str = "Questions", *collections: Collection) -> Conversation:
    chat = Conversation.objects.create(owner=owner, title=title)
    for collection in collections:
        ConversationCollection.objects.create(conversation=chat, collection=collection)
    return chat


def collection(owner, name: str, *groups: Group) -> Collection:
    made = Collection.objects.create(owner=owner, name=name)
    made.groups.add(*groups)
    return made


def document(
    owner,
    name: str,
    texts: list[str],
    *,
    conversation=None,
    collection=None,
    vectors: np.ndarray | None = None,
    model=None,
    status: str = Document.Status.READY,
) -> Document:
    """A document whose passages are `texts`, with their vectors when given."""
    body = "\n\n".join(texts).encode()
    made = Document.objects.create(
        owner=owner,
        conversation=conversation,
        collection=collection,
        name=name,
        stored_as=hashlib.sha256(name.encode() + body).hexdigest()[:32],
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        kind=Document.Kind.TEXT,
        status=status,
        stage=Document.Stage.DONE,
        total=len(texts),
        done=len(texts),
        embedding_model=model if vectors is not None else None,
    )
    start = 0
    for ordinal, text in enumerate(texts):
        Passage.objects.create(
            document=made,
            ordinal=ordinal,
            text=text,
            location=f"section {ordinal + 1}",
            start=start,
            vector=vectors[ordinal].astype("<f4").tobytes() if vectors is not None else None,
            embedding_model=model if vectors is not None else None,
        )
        start += len(text) + 2
    return made


def forget_embedding_model(django_db_blocker) -> None:
    """Take away the embedding model a module's worker fixture registered outside any
    test's transaction: the tests after it (the registry's) count the models there are."""
    from webui.registry.bundled import EMBEDDING_SLUG
    from webui.registry.models import LLMModel

    with django_db_blocker.unblock():
        LLMModel.objects.filter(slug=EMBEDDING_SLUG).delete()
