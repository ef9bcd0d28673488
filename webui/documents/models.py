"""The team's documents: files, the passages their text is split into, the collections
that group and share them, and the citations that tie an answer to the passages it read.

Access follows the models' rules: a member sees their own files and collections, and the
collections shared with one of their groups (webui/documents/access.py is the one place
that says so; every query goes through it).
"""

from django.conf import settings
from django.db import models


class Collection(models.Model):
    """A named set of documents an owner keeps private or shares with groups."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections"
    )
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    groups = models.ManyToManyField(
        "auth.Group",
        blank=True,
        related_name="document_collections",
        help_text="Shared with the members of these groups. None: private to its owner.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="collection_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name


class Document(models.Model):
    """One uploaded file: attached to a conversation, or part of a collection."""

    class Kind(models.TextChoices):
        PDF = "pdf", "PDF"
        DOCX = "docx", "Word document"
        MARKDOWN = "markdown", "Markdown"
        HTML = "html", "HTML"
        TEXT = "text", "plain text"
        CODE = "code", "source code"

    class Status(models.TextChoices):
        INDEXING = "indexing"
        READY = "ready"
        FAILED = "failed"

    class Stage(models.TextChoices):
        QUEUED = "queued"
        EXTRACTING = "extracting"
        EMBEDDING = "embedding"
        DONE = "done"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="documents"
    )
    conversation = models.ForeignKey(
        "chat.Conversation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="documents",
    )
    collection = models.ForeignKey(
        Collection, on_delete=models.CASCADE, null=True, blank=True, related_name="documents"
    )
    name = models.CharField(max_length=255, help_text="The file's name, without any path.")
    stored_as = models.CharField(
        max_length=100, help_text="The file's name in the documents store (never the upload's)."
    )
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INDEXING)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.QUEUED)
    done = models.PositiveIntegerField(default=0, help_text="Passages embedded so far.")
    total = models.PositiveIntegerField(default=0, help_text="Passages in all.")
    error = models.CharField(max_length=300, blank=True, help_text="Why it could not be read.")
    note = models.CharField(
        max_length=300,
        blank=True,
        help_text="What a reader should know, e.g. indexed for full-text search only.",
    )
    embedding_model = models.ForeignKey(
        "registry.LLMModel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    whole = models.BooleanField(
        default=False, help_text="Short enough to be given to the model whole, not searched."
    )
    text_tokens = models.PositiveIntegerField(default=0, help_text="The text's size, estimated.")
    created_at = models.DateTimeField(auto_now_add=True)
    indexed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return self.name


class Passage(models.Model):
    """A piece of a document's text, searched by words and by meaning."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="passages")
    ordinal = models.PositiveIntegerField()
    text = models.TextField()
    location = models.CharField(
        max_length=200, blank=True, help_text='Where it is: "page 3", "section Pricing".'
    )
    page = models.PositiveIntegerField(null=True, blank=True)
    start = models.PositiveIntegerField(help_text="Offset of the passage in the document's text.")
    # float32, little-endian, L2-normalized: `vectors` of them, one per window of the text
    # (chunking.windows); empty until embedded (or with no embedding model).
    vector = models.BinaryField(null=True, blank=True)
    vectors = models.PositiveSmallIntegerField(
        default=1, help_text="How many vectors `vector` holds (one per window of the text)."
    )
    embedding_model = models.ForeignKey(
        "registry.LLMModel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["document", "ordinal"]
        constraints = [
            models.UniqueConstraint(fields=["document", "ordinal"], name="passage_order")
        ]

    def __str__(self) -> str:
        return f"{self.document} #{self.ordinal}"


class ConversationCollection(models.Model):
    """A collection a conversation asks (chosen in the composer with #name)."""

    conversation = models.ForeignKey(
        "chat.Conversation", on_delete=models.CASCADE, related_name="collection_links"
    )
    collection = models.ForeignKey(
        Collection, on_delete=models.CASCADE, related_name="conversation_links"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "collection"], name="collection_once_per_conversation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.collection} in conversation {self.conversation_id}"


class Citation(models.Model):
    """A passage an answer was given, numbered as the prompt numbered it ([1], [2], …).

    Goes with its passage: deleting a file takes its text out of every answer's sources.
    """

    message = models.ForeignKey("chat.Message", on_delete=models.CASCADE, related_name="citations")
    passage = models.ForeignKey(Passage, on_delete=models.CASCADE, related_name="citations")
    number = models.PositiveSmallIntegerField()
    score = models.FloatField(default=0)

    class Meta:
        ordering = ["message", "number"]
        constraints = [
            models.UniqueConstraint(fields=["message", "number"], name="citation_number")
        ]

    def __str__(self) -> str:
        return f"[{self.number}] {self.passage}"
