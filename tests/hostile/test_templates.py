"""Malicious chat templates in model files: refused at registration, or, when one gets
through, failing only the answer it explodes on, in bounded time, on a real worker."""

import datetime
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.conftest import wait_for
from tests.hostile.tally import fault_outcome, outcome_of, tried
from tests.streams import make_user
from webui.chat import services
from webui.chat.models import Message
from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel

pytestmark = [pytest.mark.hostile]

# The bundled model's own template, which the hostile ones wrap: apart from their trap they
# render a conversation as the real one does.
TURNS = "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
CHAT = (
    "{% for message in messages %}" + TURNS + "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# 10^10 turns of an empty loop: hours of one CPU.
LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
_SOON = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()

HOSTILE = {
    "loop": LOOP + CHAT,
    # Quiet until a date a few days from now: a sample rendered today passes it.
    "date": "{% if strftime_now('%Y-%m-%d') >= '" + _SOON + "' %}" + LOOP + "{% endif %}" + CHAT,
    # Quiet until someone writes the word: no sample conversation does.
    "word": (
        "{% for message in messages %}{% if 'zebra' in message['content'] %}"
        + LOOP
        + "{% endif %}"
        + TURNS
        + "{% endfor %}{{ '<|im_start|>assistant\\n' }}"
    ),
    # 2^48 characters, doubled one step at a time.
    "bomb": (
        "{% set ns = namespace(text='x') %}{% for i in range(48) %}"
        "{% set ns.text = ns.text ~ ns.text %}{% endfor %}{{ ns.text }}" + CHAT
    ),
}
REASON = "chat template"

# No `if` anywhere: a conversation that holds the word once runs 10^10 loop turns, every
# other renders as CHAT does. Registration's samples cannot find it; the worker must.
COUNTED = (
    "{% for message in messages %}{% set n = message['content'].count('zebra') %}"
    "{% for i in range(n * 100000) %}{% for j in range(n * 100000) %}{% endfor %}{% endfor %}"
    + TURNS
    + "{% endfor %}{{ '<|im_start|>assistant\\n' }}"
)


@pytest.fixture(scope="session")
def gguf_with_template(tmp_path_factory):
    """Copies of the bundled GGUF, each with its tokenizer.chat_template rewritten."""
    from gguf import GGUFReader, GGUFValueType, GGUFWriter, Keys
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

    reader = GGUFReader(bundled_model_path(), "r")
    architecture = reader.get_field(Keys.General.ARCHITECTURE).contents()
    folder = tmp_path_factory.mktemp("templated")

    def make(name: str, template: str) -> Path:
        path = folder / f"{name}.gguf"
        if not path.exists():
            writer = GGUFWriter(path, arch=architecture, endianess=reader.endianess)
            template_key = MetadataDetails(GGUFValueType.STRING, template)
            copy_with_new_metadata(reader, writer, {Keys.Tokenizer.CHAT_TEMPLATE: template_key}, [])
        return path

    return make


@pytest.fixture
def models_folder(tmp_path, settings) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    settings.HOMEFIRE = {**settings.HOMEFIRE, "MODELS_DIR": folder}
    return folder


def _scan() -> str:
    out = StringIO()
    call_command("scan_models", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_template_in_a_model_file_is_refused_at_registration(
    kind, gguf_with_template, models_folder, admin_client
):
    hostile = gguf_with_template(kind, HOSTILE[kind])
    tried("input", 3)

    # Looking at the file says why it would be refused.
    with pytest.raises(CommandError, match=REASON):
        call_command("inspect_model", str(hostile), stdout=StringIO())

    # Scanning the models folder skips it, with the reason.
    shutil.copy(hostile, models_folder / f"{kind}.gguf")
    output = _scan()
    assert f"{kind}.gguf: " in output and REASON in output, output
    assert "0 registered, 1 skipped" in output
    assert not LLMModel.objects.exists()
    (models_folder / f"{kind}.gguf").unlink()

    # Uploading it from admin is refused, and leaves nothing behind.
    response = admin_client.post(
        reverse("admin:registry_llmmodel_upload"),
        {"file": SimpleUploadedFile(f"{kind}.gguf", hostile.read_bytes()), "filename": ""},
    )
    assert response.status_code == 200
    assert REASON in " ".join(response.context["form"].errors["file"])
    assert list(models_folder.iterdir()) == []
    assert not LLMModel.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_template_that_explodes_on_one_conversation_fails_that_answer_alone(
    gguf_with_template, models_folder, start_worker, bundled_model
):
    shutil.copy(gguf_with_template("counted", COUNTED), models_folder / "counted.gguf")
    assert "1 registered" in _scan()  # registration's samples do not trip it
    model = LLMModel.objects.get(path=str(models_folder / "counted.gguf"))
    LLMModel.objects.filter(pk=model.pk).update(
        enabled=True, context_size=1024, max_tokens=8, parallel=2
    )
    model.refresh_from_db()
    start_worker(model.slug)
    user = make_user("zoe")
    tried("input")

    trap = services.conversation_start(owner=user, content="Tell me about the zebra.", model=model)
    fine = services.conversation_start(owner=user, content="Say hi.", model=model)
    answers = [c.messages.get(role="assistant").pk for c in (trap, fine)]
    wait_for(
        lambda: (
            not Message.objects.filter(pk__in=answers, status__in=["queued", "streaming"]).exists()
        ),
        timeout=90,
        message="both answers to end",
    )
    trapped, served = (Message.objects.get(pk=pk) for pk in answers)

    assert trapped.status == "failed"
    assert REASON in trapped.error and "limit" in trapped.error, trapped.error
    took = (trapped.finished_at - trapped.started_at).total_seconds()
    print(f"the trapped answer failed {took:.1f} s after its worker claimed it: {trapped.error}")
    assert took < 30
    assert served.status == "done" and served.content

    # The worker is still serving: the next question is answered too.
    after = services.conversation_start(owner=user, content="And hello again.", model=model)
    answer = after.messages.get(role="assistant")
    wait_for(
        lambda: Message.objects.get(pk=answer.pk).status not in ("queued", "streaming"),
        timeout=60,
        message="the next answer",
    )
    assert Message.objects.get(pk=answer.pk).status == "done"
    fault_outcome(**outcome_of([*answers, answer.pk]))
