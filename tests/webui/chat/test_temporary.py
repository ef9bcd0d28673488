"""Temporary chats: kept while a tab shows them, deleted by housekeeping once the last tab
has been gone for the grace period (or after a day idle); never in the sidebar, search,
export or sharing; their answers' usage outlives them."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.http import Http404
from django.test import Client, TestCase, override_settings
from django.utils import timezone

from webui.chat import search, selectors, services, sharing, temporary
from webui.chat.models import Conversation, Message
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel

GRACE = {"TEMPORARY_GRACE_SECONDS": 60}


def _homefire(**changes):
    from django.conf import settings

    return override_settings(HOMEFIRE={**settings.HOMEFIRE, **changes})


class TemporaryChatTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice = get_user_model().objects.create_user("alice")
        cls.model = LLMModel.objects.create(
            name="Tiny", slug="tiny", path=bundled_model_path(), is_default=True
        )

    def _start(self, content="zebra crossing rules") -> Conversation:
        conversation = services.conversation_start(
            owner=self.alice, content=content, model=self.model, temporary=True
        )
        # The answer ended: no worker in these tests.
        conversation.messages.filter(role="assistant").update(status=Message.Status.DONE)
        return conversation

    def test_it_is_stored_apart_and_counts_as_left_until_a_tab_opens(self):
        conversation = self._start()
        assert conversation.is_temporary and conversation.left_at is not None
        temporary.tab_opened(conversation.pk)
        conversation.refresh_from_db()
        assert (conversation.open_tabs, conversation.left_at) == (1, None)

    def test_it_is_never_in_the_sidebar_search_export_or_shared(self):
        conversation = self._start()
        kept = services.conversation_start(
            owner=self.alice, content="zebra facts", model=self.model
        )
        page = selectors.conversation_sidebar(user=self.alice)
        assert [c.pk for g in page.groups for c in g.conversations] == [kept.pk]
        assert [
            r.conversation.pk for r in search.conversation_search(user=self.alice, query="zebra")
        ] == [kept.pk]
        assert [c.pk for c in selectors.conversations_for_export(user=self.alice)] == [kept.pk]
        # Even a share made by hand opens nothing.
        token = sharing.conversation_share(conversation=conversation)
        with self.assertRaises(Http404):
            sharing.shared_conversation_get(token=token)

    @_homefire(**GRACE)
    def test_the_last_tab_closing_starts_the_grace_and_housekeeping_deletes_after_it(self):
        conversation = self._start()
        temporary.tab_opened(conversation.pk)
        temporary.tab_opened(conversation.pk)  # a second tab
        temporary.tab_closed(conversation.pk)
        conversation.refresh_from_db()
        assert (conversation.open_tabs, conversation.left_at) == (1, None)
        assert temporary.delete_left(timezone.now() + timedelta(hours=2)) == 0
        temporary.tab_closed(conversation.pk)
        conversation.refresh_from_db()
        assert conversation.open_tabs == 0 and conversation.left_at is not None
        # A reload within the grace opens it again.
        assert temporary.delete_left(conversation.left_at + timedelta(seconds=59)) == 0
        assert temporary.delete_left(conversation.left_at + timedelta(seconds=61)) == 1
        assert not Conversation.objects.filter(pk=conversation.pk).exists()
        assert not Message.objects.filter(conversation_id=conversation.pk).exists()

    @_homefire(**GRACE)
    def test_a_tab_that_said_it_left_is_not_given_the_grace_again_when_its_socket_closes(self):
        conversation = self._start()
        temporary.tab_opened(conversation.pk)
        conversation.refresh_from_db()
        session = {}
        temporary.tab_left(conversation, session, at_once=False)  # pagehide's beacon
        conversation.refresh_from_db()
        said = conversation.left_at
        assert said is not None and said <= timezone.now() - timedelta(seconds=59)
        temporary.tab_closed(conversation.pk)  # then its socket closes
        conversation.refresh_from_db()
        assert (conversation.open_tabs, conversation.left_at) == (0, said)
        assert temporary.delete_left(timezone.now() + timedelta(seconds=2)) == 1
        assert session[temporary.ENDED_KEY] == [conversation.pk]

    @_homefire(**GRACE)
    def test_one_never_opened_goes_after_the_grace_and_a_busy_one_waits_for_its_answer(self):
        conversation = self._start()
        conversation.messages.filter(role="assistant").update(status=Message.Status.STREAMING)
        later = timezone.now() + timedelta(minutes=5)
        assert temporary.delete_left(later) == 0
        conversation.messages.filter(role="assistant").update(status=Message.Status.DONE)
        assert temporary.delete_left(later) == 1

    def test_one_left_open_a_day_idle_is_deleted_and_chats_never_are(self):
        conversation = self._start()
        temporary.tab_opened(conversation.pk)
        kept = services.conversation_start(owner=self.alice, content="keep me", model=self.model)
        kept.messages.update(status=Message.Status.DONE)
        # Only temporary chats are ever deleted, whatever else a row holds.
        Conversation.objects.filter(pk=kept.pk).update(left_at=timezone.now() - timedelta(days=9))
        assert temporary.delete_left(timezone.now() + timedelta(hours=23)) == 0
        assert temporary.delete_left(timezone.now() + timedelta(hours=25)) == 1
        assert list(Conversation.objects.values_list("pk", flat=True)) == [kept.pk]

    def test_closing_more_tabs_than_opened_never_goes_below_zero(self):
        conversation = self._start()
        temporary.tab_closed(conversation.pk)
        conversation.refresh_from_db()
        assert conversation.open_tabs == 0

    def test_the_new_conversation_form_starts_one_and_its_page_says_so(self):
        client = Client()
        client.force_login(self.alice)
        assert 'id="temporary-toggle" checked' in client.get("/?temporary=1").content.decode()
        response = client.post("/c/new/", {"content": "Hello", "temporary": "1"})
        conversation = Conversation.objects.get()
        assert response["Location"] == conversation.get_absolute_url()
        assert conversation.is_temporary
        page = client.get(conversation.get_absolute_url()).content.decode()
        assert "Temporary chat." in page and 'class="tag temporary-tag"' in page
        assert "Export JSON" not in page and 'value="share"' not in page
        # Not in the sidebar of its own page either.
        assert f'data-conversation-id="{conversation.pk}"' not in page


def test_housekeeping_runs_the_deletion_on_its_own_queue():
    from django.conf import settings

    from webui.chat import tasks

    job = settings.CELERY_BEAT_SCHEDULE["delete-left-temporary-chats"]
    assert job["task"] == tasks.delete_left_temporary.name
    assert job["options"]["queue"] == "housekeeping"
    assert job["schedule"] <= settings.HOMEFIRE["TEMPORARY_GRACE_SECONDS"]
