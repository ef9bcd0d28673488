"""Per-conversation system prompt and sampling: the form, its bounds, and generation."""

import pytest
from django.test import Client
from django.urls import reverse

from inference.worker.generation import sampling_for
from tests.streams import make_user
from webui.chat.models import Conversation, Message
from webui.chat.selectors import prompt_history as history_for
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel


@pytest.fixture
def model(db):
    """A registered model with its own defaults and bounds (no GGUF read, no worker)."""
    return LLMModel.objects.create(
        name="Tiny",
        slug="tiny",
        path=bundled_model_path(),
        is_default=True,
        temperature=0.4,
        temperature_max=1.5,
        top_p=0.9,
        max_tokens=100,
        max_tokens_limit=300,
    )


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def conversation(alice, model):
    return Conversation.objects.create(owner=alice, title="Settings", model=model)


@pytest.fixture
def client_alice(alice):
    client = Client()
    client.force_login(alice)
    return client


def _post(client, conversation, **fields):
    data = {"system_prompt": "", "temperature": "", "top_p": "", "max_tokens": "", **fields}
    return client.post(reverse("chat:settings", args=[conversation.pk]), data)


def test_the_panel_shows_the_models_defaults_and_bounds(client_alice, conversation):
    page = client_alice.get(conversation.get_absolute_url()).content.decode()
    assert 'name="system_prompt"' in page and 'name="max_tokens"' in page
    assert 'placeholder="0.4"' in page and 'placeholder="0.9"' in page
    assert 'placeholder="100"' in page
    assert "0 to 1.5; empty: 0.4" in page and "1 to 300; empty: 100" in page


def test_valid_settings_are_saved_and_empty_means_the_default(client_alice, conversation):
    response = _post(
        client_alice,
        conversation,
        system_prompt="  Answer like a pirate.  ",
        temperature="1.2",
        top_p="0.5",
        max_tokens="250",
    )
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert (conversation.system_prompt, conversation.temperature) == ("Answer like a pirate.", 1.2)
    assert (conversation.top_p, conversation.max_tokens) == (0.5, 250)
    page = client_alice.get(conversation.get_absolute_url()).content.decode()
    assert 'value="1.2"' in page and "Answer like a pirate." in page

    assert _post(client_alice, conversation).status_code == 302
    conversation.refresh_from_db()
    assert (conversation.system_prompt, conversation.temperature) == ("", None)
    assert (conversation.top_p, conversation.max_tokens) == (None, None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature", "1.6", "Temperature must be between 0 and 1.5 for Tiny."),
        ("temperature", "-0.1", "Temperature must be between 0 and 1.5 for Tiny."),
        ("temperature", "nan", "Enter a number."),
        ("temperature", "hot", "Enter a number."),
        ("top_p", "1.01", "Top-p must be between 0 and 1 for Tiny."),
        ("max_tokens", "301", "Max tokens must be between 1 and 300 for Tiny."),
        ("max_tokens", "0", "Max tokens must be between 1 and 300 for Tiny."),
        ("max_tokens", "2.5", "Enter a whole number."),
    ],
)
def test_values_out_of_bounds_are_refused_with_the_bound(
    client_alice, conversation, field, value, message
):
    response = _post(client_alice, conversation, **{field: value})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'id="conversation-settings" open' in page
    assert 'aria-invalid="true"' in page
    conversation.refresh_from_db()
    assert getattr(conversation, field) is None


def test_a_system_prompt_past_the_message_limit_is_refused(client_alice, conversation, settings):
    settings.HOMEFIRE = {**settings.HOMEFIRE, "MAX_MESSAGE_CHARS": 10}
    response = _post(client_alice, conversation, system_prompt="x" * 11)
    assert response.status_code == 400
    assert "at most 10 characters" in response.content.decode()


def test_bounds_follow_the_model_chosen_in_the_same_form(client_alice, conversation, model):
    roomy = LLMModel.objects.create(
        name="Roomy", slug="roomy", path=model.path, max_tokens_limit=4000
    )
    response = _post(client_alice, conversation, model="roomy", max_tokens="3000")
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert (conversation.model, conversation.max_tokens) == (roomy, 3000)
    disabled = LLMModel.objects.create(name="Off", slug="off", path=model.path, enabled=False)
    response = _post(client_alice, conversation, model=disabled.slug)
    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.model == roomy


def test_only_the_owner_changes_settings(conversation):
    bob = Client()
    bob.force_login(make_user("bob"))
    assert _post(bob, conversation, temperature="0.1").status_code == 404
    assert _post(Client(), conversation, temperature="0.1").status_code == 302  # to log in
    conversation.refresh_from_db()
    assert conversation.temperature is None


def test_the_form_needs_its_csrf_token(alice, conversation):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert _post(client, conversation, temperature="0.1").status_code == 403
    page = client.get(conversation.get_absolute_url()).content.decode()
    form = page.split('class="settings-form', 1)[1].split("</form>", 1)[0]
    assert 'name="csrfmiddlewaretoken"' in form


def _answer(conversation, **sampling):
    Message.objects.create(conversation=conversation, role="user", content="Hello")
    return Message.objects.create(
        conversation=conversation,
        role="assistant",
        status="queued",
        model=conversation.model,
        sampling=sampling,
    )


def test_generation_uses_the_models_defaults(conversation):
    sampling = sampling_for(_answer(conversation))
    assert (sampling.temperature, sampling.top_p, sampling.max_tokens) == (0.4, 0.9, 100)


def test_generation_uses_the_conversations_settings_and_system_prompt(conversation):
    Conversation.objects.filter(pk=conversation.pk).update(
        system_prompt="Be brief.", temperature=1.1, top_p=0.3, max_tokens=250
    )
    conversation.refresh_from_db()
    answer = _answer(conversation)
    sampling = sampling_for(answer)
    assert (sampling.temperature, sampling.top_p, sampling.max_tokens) == (1.1, 0.3, 250)
    assert history_for(answer) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
    ]


def test_generation_never_passes_the_models_bounds(conversation, model):
    # Settings saved under looser bounds, which the admin has since tightened.
    Conversation.objects.filter(pk=conversation.pk).update(temperature=1.4, max_tokens=290)
    model.temperature_max, model.max_tokens_limit = 1.0, 200
    model.save()
    conversation.refresh_from_db()
    sampling = sampling_for(_answer(conversation))
    assert (sampling.temperature, sampling.max_tokens) == (1.0, 200)


def test_an_api_requests_own_settings_come_first(conversation):
    Conversation.objects.filter(pk=conversation.pk).update(temperature=1.1)
    conversation.refresh_from_db()
    sampling = sampling_for(_answer(conversation, temperature=0.0, max_tokens=7))
    assert (sampling.temperature, sampling.top_p, sampling.max_tokens) == (0.0, 0.9, 7)


def test_stored_settings_are_checked_again_before_generation(conversation):
    from webui.chat.sampling import SamplingRejected

    with pytest.raises(SamplingRejected, match="'seed' must be an integer"):
        sampling_for(_answer(conversation, seed="7"))
    with pytest.raises(SamplingRejected, match="Each 'stop' must be a string"):
        sampling_for(_answer(conversation, stop=[5]))
    kept = sampling_for(_answer(conversation, seed=7, stop="END", via="api", raw=True))
    assert (kept.seed, kept.stop) == (7, ["END"])


def test_no_model_bound_goes_past_what_any_answer_may_use(client_alice, conversation, model):
    model.temperature, model.temperature_max = 0.4, 5.0
    model.save()
    response = _post(client_alice, conversation, temperature="3")
    assert response.status_code == 400
    assert "Temperature must be between 0 and 2 for Tiny." in response.content.decode()
    Conversation.objects.filter(pk=conversation.pk).update(temperature=4.0)
    conversation.refresh_from_db()
    assert sampling_for(_answer(conversation)).temperature == 2.0
