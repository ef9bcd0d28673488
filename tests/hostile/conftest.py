"""Hostile and faulty conditions: shared rows, and a summary of what was tried.

test_rendering.py must stay last here by name: once the browser starts, its event loop
stays open and the async socket tests can no longer run.
"""

import pytest
from django.contrib.auth import get_user_model

from tests.hostile.tally import KINDS, fault_counts, tried_counts
from webui.api.models import ApiKey
from webui.chat import services
from webui.registry.models import LLMModel


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not tried_counts and not fault_counts:
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


def make_user(username: str):
    """A user who logs in only through force_login: no password to hash, so fast."""
    return get_user_model().objects.create_user(username)


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

    def snapshot(self) -> tuple:
        """Everything of Alice's that an intruder might change."""
        conversation = type(self.conversation).objects.filter(pk=self.conversation.pk)
        messages = self.conversation.messages.order_by("pk")
        keys = ApiKey.objects.filter(user=self.alice).order_by("pk")
        return (
            list(conversation.values("title", "pinned", "archived", "model_id")),
            list(messages.values("pk", "content", "status", "error")),
            list(keys.values("pk", "name", "revoked_at", "hashed")),
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
