"""Groups decide which models a member may use: in the picker, when sending, and in the API."""

import pytest
from django.contrib.auth.models import Group

from tests.streams import make_user
from webui.api.models import ApiKey
from webui.chat import services
from webui.chat.models import Conversation
from webui.team.access import models_for
from webui.team.models import ModelAccess

pytestmark = pytest.mark.django_db


@pytest.fixture
def research(second_model):
    group = Group.objects.create(name="research")
    ModelAccess.objects.create(model=second_model, group=group)
    return group


def test_models_for_follows_the_groups(idle_model, second_model, research, staff):
    member, outsider = make_user("member"), make_user("outsider")
    member.groups.add(research)
    assert set(models_for(member)) == {idle_model, second_model}
    assert list(models_for(outsider)) == [idle_model]
    # Managers belong to no group and still reach everything.
    assert set(models_for(staff)) == {idle_model, second_model}
    second_model.enabled = False
    second_model.save()
    assert list(models_for(member)) == [idle_model]


def test_picker_lists_only_allowed_models(client, idle_model, second_model, research):
    member, outsider = make_user("member"), make_user("outsider")
    member.groups.add(research)
    client.force_login(outsider)
    page = client.get("/").content.decode()
    assert idle_model.name in page and second_model.name not in page
    client.force_login(member)
    page = client.get("/").content.decode()
    assert idle_model.name in page and second_model.name in page


def test_sending_to_a_forbidden_model_is_refused(client, idle_model, second_model, research):
    outsider = make_user("outsider")
    client.force_login(outsider)
    # A forged slug falls back to a model the user may use.
    client.post("/c/new/", {"content": "hi", "model": second_model.slug})
    assert Conversation.objects.get(owner=outsider).model == idle_model
    # A conversation that points at the restricted model cannot be continued.
    conversation = Conversation.objects.create(owner=outsider, model=second_model)
    with pytest.raises(services.MessageRejected, match="do not have access"):
        services.message_send(conversation=conversation, content="hi")
    assert not conversation.messages.exists()


def test_api_lists_and_accepts_only_allowed_models(client, idle_model, second_model, research):
    outsider = make_user("outsider")
    _, raw = ApiKey.issue(user=outsider, name="k")
    headers = {"Authorization": f"Bearer {raw}"}
    listed = client.get("/v1/models", headers=headers).json()
    assert [m["id"] for m in listed["data"]] == [idle_model.slug]
    body = {"model": second_model.slug, "messages": [{"role": "user", "content": "hi"}]}
    response = client.post(
        "/v1/chat/completions", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    assert not Conversation.objects.filter(owner=outsider).exists()
