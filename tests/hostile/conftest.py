"""Hostile and faulty conditions: shared rows, and a summary of what was tried.

test_rendering.py must stay last here by name: once the browser starts, its event loop
stays open and the async socket tests can no longer run.
"""

import pytest
from django.contrib.auth import get_user_model

from tests.hostile.tally import KINDS, fault_counts, load_figures, tried_counts
from webui.api.models import ApiKey
from webui.chat import services
from webui.chat.models import Folder, SavedPrompt
from webui.documents.models import Collection, ConversationCollection, Document
from webui.registry.models import LLMModel


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not tried_counts and not fault_counts and not load_figures:
        return
    write = terminalreporter.write_line
    terminalreporter.section("hostile inputs tried")
    for kind in KINDS:
        write(f"{kind:>11}: {tried_counts[kind]}")
    if fault_counts:
        sent, stored, failed, lost = (fault_counts[k] for k in ("sent", "stored", "failed", "lost"))
        write(
            f"fault runs: {sent} sent, {stored} stored, {failed} failed with a reason, {lost} lost"
        )
    if load_figures:
        f = load_figures
        write(
            f"load run: {f['users']} users at once on one worker, {f['seconds']} s: "
            f"{f['sent']} sent, {f['stored']} stored, {f['failed']} failed with a reason, "
            f"{f['lost']} lost"
        )
        write(
            f"  time to first token (worker) p50 {f['ttft_p50']:.2f} s, p95 {f['ttft_p95']:.2f} s; "
            f"first text in the tab p50 {f['first_text_p50']:.2f} s, "
            f"p95 {f['first_text_p95']:.2f} s"
        )
        write(f"  queue wait p50 {f['queue_wait_p50']:.2f} s, p95 {f['queue_wait_p95']:.2f} s")


def make_user(username: str):
    """A user who logs in only through force_login: no password to hash, so fast."""
    return get_user_model().objects.create_user(username)


# What an intruder might change on a conversation: its arrangement, settings and sharing.
CONVERSATION_FIELDS = (
    "title",
    "pinned",
    "archived",
    "model_id",
    "system_prompt",
    "temperature",
    "top_p",
    "max_tokens",
    "share_token",
    "folder_id",
)


class Owned:
    """Alice's rows that everyone else tries to reach."""

    def __init__(self, model):
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.carol = make_user("carol")  # deactivated by the tests that need it
        self.conversation = services.conversation_start(
            owner=self.alice, content="alice secret plans", model=model
        )
        self.question = self.conversation.messages.get(role="user")
        self.answer = self.conversation.messages.get(role="assistant")
        self.key, self.raw_key = ApiKey.issue(user=self.alice, name="alice-key")
        self.bob_key, self.bob_raw_key = ApiKey.issue(user=self.bob, name="bob-key")
        self.prompt = SavedPrompt.objects.create(
            owner=self.alice, title="alice secret prompt", text="alice secret plans {{who}}"
        )
        self.folder = Folder.objects.create(owner=self.alice, name="alice secret folder")
        self.collection = Collection.objects.create(owner=self.alice, name="alice secret docs")
        ConversationCollection.objects.create(
            conversation=self.conversation, collection=self.collection
        )
        self.document = Document.objects.create(
            owner=self.alice,
            conversation=self.conversation,
            name="alice secret plans.txt",
            stored_as="none",
            size=1,
            sha256="0" * 64,
            kind=Document.Kind.TEXT,
            status=Document.Status.READY,
        )

    def snapshot(self) -> tuple:
        """Everything of Alice's that an intruder might change."""
        conversation = type(self.conversation).objects.filter(pk=self.conversation.pk)
        messages = self.conversation.messages.order_by("pk")
        keys = ApiKey.objects.filter(user=self.alice).order_by("pk")
        return (
            list(conversation.values(*CONVERSATION_FIELDS)),
            list(
                messages.values(
                    "pk", "content", "status", "error", "shown", "parent_id", "version_of_id"
                )
            ),
            list(keys.values("pk", "name", "revoked_at", "hashed")),
            list(SavedPrompt.objects.order_by("pk").values("pk", "owner", "title", "text")),
            list(Folder.objects.order_by("pk").values("pk", "owner", "name", "collapsed")),
            list(Collection.objects.order_by("pk").values("pk", "owner", "name", "groups")),
            list(
                Document.objects.order_by("pk").values(
                    "pk", "owner", "name", "conversation", "collection", "status"
                )
            ),
            list(ConversationCollection.objects.order_by("pk").values()),
        )


@pytest.fixture
def quick_model(db):
    """A model no worker serves, made without reading its GGUF file (seconds per test)."""
    from webui.registry.bundled import bundled_model_path

    return LLMModel.objects.create(
        name="SmolLM2 (hostile tests)",
        slug="hostile-idle",
        path=bundled_model_path(),
        is_default=True,
    )


@pytest.fixture
def owned(quick_model):
    return Owned(quick_model)
