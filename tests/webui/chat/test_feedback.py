"""👍/👎 on answers: stored with the answer's model and settings, one per answer, taken
back by a second press, owner-only; the per-model summary and the staff's CSV."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.streams import make_user
from webui.chat import feedback
from webui.chat.models import AnswerFeedback, Conversation, Message
from webui.team.reports import filters_from

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def answer(alice, bundled_model):
    conversation = Conversation.objects.create(
        owner=alice, title="t", model=bundled_model, temperature=0.3
    )
    Message.objects.create(conversation=conversation, role="user", content="Hi")
    return Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="Hello.",
        model=bundled_model,
        sampling={"top_p": 0.5},
    )


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "boss", password="pw-boss-12345", is_staff=True, is_superuser=True
    )


def rate(client, message, **data):
    return client.post(reverse("chat:feedback", args=[message.pk]), data, **HTMX)


def test_a_rating_is_stored_with_the_answers_model_and_settings(client, alice, answer):
    client.force_login(alice)
    page = rate(client, answer, rating="up")
    assert page.status_code == 200
    stored = AnswerFeedback.objects.get()
    assert (stored.message, stored.owner, stored.rating) == (answer, alice, "up")
    assert stored.model == answer.model
    # The answer's own top_p, the conversation's temperature: what the worker used.
    assert stored.sampling["top_p"] == 0.5 and stored.sampling["temperature"] == 0.3
    html = page.content.decode()
    assert 'data-feedback="up" aria-pressed="true"' in html
    assert 'data-feedback="down" aria-pressed="false"' in html


def test_a_second_press_takes_the_rating_back_and_the_other_replaces_it(client, alice, answer):
    client.force_login(alice)
    rate(client, answer, rating="up")
    rate(client, answer, rating="down")
    assert AnswerFeedback.objects.get().rating == "down"
    # The pressed button sends no rating: the feedback is gone.
    page = rate(client, answer, rating="")
    assert not AnswerFeedback.objects.exists()
    assert 'aria-pressed="true"' not in page.content.decode()


def test_a_comment_is_kept_when_only_a_button_is_pressed(client, alice, answer):
    client.force_login(alice)
    rate(client, answer, rating="down", comment="  Wrong year.  ")
    rate(client, answer, rating="up")
    stored = AnswerFeedback.objects.get()
    assert (stored.rating, stored.comment) == ("up", "Wrong year.")


def test_a_comment_over_1000_characters_is_refused(client, alice, answer):
    client.force_login(alice)
    rate(client, answer, rating="up", comment="ok")
    page = rate(client, answer, rating="up", comment="x" * 1001)
    assert "A comment holds up to 1,000 characters (this one has 1,001)." in page.content.decode()
    assert AnswerFeedback.objects.get().comment == "ok"
    plain = client.post(
        reverse("chat:feedback", args=[answer.pk]), {"rating": "up", "comment": "x" * 1001}
    )
    assert plain.status_code == 400


def test_without_script_the_form_posts_and_returns_to_the_answer(client, alice, answer):
    client.force_login(alice)
    response = client.post(reverse("chat:feedback", args=[answer.pk]), {"rating": "up"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/c/{answer.conversation_id}/#message-{answer.pk}")
    page = client.get(answer.conversation.get_absolute_url()).content.decode()
    assert f'id="feedback-{answer.pk}-up"' in page and 'aria-pressed="true"' in page


def test_only_the_owner_rates_and_only_by_post_with_csrf(client, alice, answer):
    client.force_login(make_user("mallory"))
    assert rate(client, answer, rating="up").status_code == 404
    client.force_login(alice)
    assert client.get(reverse("chat:feedback", args=[answer.pk])).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert rate(strict, answer, rating="up").status_code == 403
    assert not AnswerFeedback.objects.exists()


def test_questions_and_unfinished_answers_cannot_be_rated(client, alice, answer):
    client.force_login(alice)
    question = answer.conversation.messages.get(role="user")
    assert (
        "Only a finished answer can be rated."
        in rate(client, question, rating="up").content.decode()
    )
    answer.status = Message.Status.STREAMING
    answer.save()
    assert (
        "Only a finished answer can be rated." in rate(client, answer, rating="up").content.decode()
    )
    assert not AnswerFeedback.objects.exists()


def test_answers_show_their_buttons_and_questions_do_not(client, alice, answer):
    client.force_login(alice)
    page = client.get(answer.conversation.get_absolute_url()).content.decode()
    assert page.count("data-feedback-form=") == 1
    assert f'data-feedback-form="{answer.pk}"' in page


def _feedback(model, owner, rating, comment=""):
    conversation = Conversation.objects.create(owner=owner, title="t", model=model)
    message = Message.objects.create(
        conversation=conversation, role="assistant", content="a", model=model
    )
    return feedback.feedback_set(message=message, rating=rating, comment=comment)


def test_the_summary_counts_each_models_ratings(alice, bundled_model):
    for rating in ("up", "up", "up", "down"):
        _feedback(bundled_model, alice, rating)
    [row] = feedback.feedback_summary(feedback.feedback_in(filters_from({})))
    assert (row.model_name, row.up, row.down, row.share) == (bundled_model.name, 3, 1, 0.75)


def test_team_usage_shows_the_summary_and_staff_download_the_csv(
    client, alice, staff, bundled_model
):
    _feedback(bundled_model, alice, "up", comment="=HYPERLINK(1)")
    _feedback(bundled_model, alice, "down")
    client.force_login(staff)
    page = client.get(reverse("team:usage")).content.decode()
    assert "data-feedback-summary" in page
    assert "<td data-up>1</td><td data-down>1</td><td data-share>50%</td>" in page
    download = client.get(reverse("team:feedback_csv"))
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert sorted(r["rating"] for r in rows) == ["down", "up"]
    rated_up = next(r for r in rows if r["rating"] == "up")
    assert rated_up["comment"] == "'=HYPERLINK(1)" and rated_up["model"] == bundled_model.name
    assert rated_up["user"] == "alice" and rated_up["temperature"]

    client.force_login(alice)
    assert client.get(reverse("team:feedback_csv")).status_code == 404


def test_the_admin_lists_feedback_read_only_with_the_summary(client, alice, staff, bundled_model):
    given = _feedback(bundled_model, alice, "up", comment="Clear.")
    client.force_login(staff)
    listing = client.get(reverse("admin:chat_answerfeedback_changelist") + "?rating__exact=up")
    html = listing.content.decode()
    assert listing.status_code == 200 and "data-feedback-summary" in html and "Clear." in html
    assert "<td data-up>1</td><td data-down>0</td><td data-share>100%</td>" in html
    assert client.get(reverse("admin:chat_answerfeedback_add")).status_code == 403
    detail = client.get(reverse("admin:chat_answerfeedback_change", args=[given.pk]))
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()


def test_the_page_reads_every_answers_feedback_in_its_one_query(client, alice, answer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(alice)
    url = answer.conversation.get_absolute_url()
    feedback.feedback_set(message=answer, rating="up")
    client.get(url)  # the team's policy, read once and kept (webui.team.policy_cache)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(3):
        question = Message.objects.create(
            conversation=answer.conversation, role="user", content="q"
        )
        more = Message.objects.create(
            conversation=answer.conversation, role="assistant", content="a", parent=question
        )
        feedback.feedback_set(message=more, rating="down")
    with CaptureQueriesContext(connection) as four:
        page = client.get(url).content.decode()
    assert page.count('aria-pressed="true"') == 4
    assert len(four) == len(one)
