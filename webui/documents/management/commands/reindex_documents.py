"""Give documents vectors of the current embedding model, or read them all again."""

from django.core.management.base import BaseCommand

from webui.documents import embedding, indexing
from webui.documents.models import Document
from webui.documents.tasks import send_embed, send_index


class Command(BaseCommand):
    help = (
        "Embed again the documents whose passages lack vectors of the current embedding "
        "model (after an admin changed it); with --all, read every document again from its "
        "file. Runs here, and needs a worker of the embedding model (else the documents "
        "stay searchable by their words only, and say so)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            action="store_true",
            dest="everything",
            help="Read every document again from its file.",
        )
        parser.add_argument(
            "--queue",
            action="store_true",
            help="Send the work to the documents queue (housekeeping) instead of doing it here.",
        )

    def handle(self, *args, everything=False, queue=False, **options):
        model = embedding.current_model()
        if everything:
            documents = Document.objects.exclude(status=Document.Status.INDEXING)
        else:
            if model is None:
                self.stdout.write("No embedding model is enabled: nothing to embed.")
                return
            documents = Document.objects.filter(
                status=Document.Status.READY, pk__in=indexing.lacking(model)
            )
        ids = list(documents.order_by("pk").values_list("pk", flat=True))
        for number, document_id in enumerate(ids, start=1):
            if everything:
                indexing.restart(Document(pk=document_id))
            if queue:
                (send_index if everything else send_embed)(document_id)
                continue
            if everything and not indexing.extract(document_id):
                self._report(number, len(ids), document_id)
                continue
            while indexing.embed_next(document_id):
                pass
            self._report(number, len(ids), document_id)
        verb = "Sent" if queue else "Indexed"
        self.stdout.write(f"{verb} {len(ids)} document(s).")

    def _report(self, number: int, count: int, document_id: int) -> None:
        document = Document.objects.filter(pk=document_id).first()
        if document is None:
            return
        said = document.error or document.note or f"{document.total} passages"
        self.stdout.write(f"[{number}/{count}] {document.name}: {document.status} ({said})")
