"""What follows from changes elsewhere: a deleted document's file goes from the disk
(however the row went: the file deleted, its conversation, its collection, its owner's
account, retention), and a change of embedding model sends the catch-up job."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from webui.documents import storage
from webui.documents.models import Document
from webui.documents.tasks import send_catch_up
from webui.registry.models import LLMModel


@receiver(post_delete, sender=Document, dispatch_uid="documents.remove_file")
def remove_file(sender, instance: Document, **kwargs) -> None:
    # After commit: a deletion rolled back keeps its file.
    stored_as = instance.stored_as
    transaction.on_commit(lambda: storage.remove(stored_as))


@receiver(post_save, sender=LLMModel, dispatch_uid="documents.embedding_model_changed")
def embedding_model_changed(sender, instance: LLMModel, **kwargs) -> None:
    if instance.role != LLMModel.Role.EMBEDDING:
        return
    # Robust: with no broker right now, the periodic run catches up.
    transaction.on_commit(send_catch_up, robust=True)
