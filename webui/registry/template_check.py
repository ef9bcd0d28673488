"""Check a chat template before a model uses it: an admin's override when it is saved, a
GGUF file's own when the file is registered (scanned, uploaded, downloaded, added by path)
or inspected.

The template is rendered on several sample conversations by the worker's own renderer,
within the worker's limits of steps, characters and time, and again exploring every
branch (inference/engine/template_probe.py), in a child process with its own memory, CPU
and time limits. The web never imports the engine: it runs it, as it names worker tasks.
"""

import datetime
import json
import resource
import subprocess
import sys

from django.conf import settings

from webui.registry.gguf_info import ModelInfo

# Python's -E and -s leave out the environment's paths; the project's folder (the working
# directory, first on the path with -m) holds the probe, installed or not.
PROBE = [sys.executable, "-E", "-s", "-m", "inference.engine.template_probe"]
TIMEOUT_SECONDS = 15
MEMORY_BYTES = 1024 * 1024 * 1024
# What an override may write for the first, short sample: far more would overflow every
# model's context with the template's own text.
MAX_CHARS = 20_000

SAMPLE = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And of Italy?"},
]


def _long_history(turns: int) -> list[dict]:
    history = [{"role": "system", "content": "Answer in one sentence; no tools are available."}]
    for n in range(turns):
        question = f"Question {n}: what does line {n} of the log say? "
        answer = f"Line {n} says the backup finished at 02:{n:02}. "
        history += [
            {"role": "user", "content": question * 3},
            {"role": "assistant", "content": answer * 3},
        ]
    return [*history, {"role": "user", "content": "Thanks. And the last line?"}]


SAMPLES = [
    SAMPLE,
    [{"role": "user", "content": "Hello."}],
    [
        {"role": "system", "content": "Tu es un assistant serviable. 你是一个乐于助人的助手。"},
        {"role": "user", "content": "Grüße aus Köln — ça va? Привет! こんにちは 🙂 \u200b\ttab"},
        {"role": "assistant", "content": "Très bien, merci ! 👍"},
        {"role": "user", "content": "«Quotes», 'apostrophes', \"doubles\", {braces} and <tags>."},
    ],
    [
        {"role": "system", "content": "Today is Monday 29 February 2028, 23:59 UTC."},
        {"role": "user", "content": "Plan 2027-12-31, 1 Jan 2030 and 12/25/2099 at 09:30 for me."},
    ],
    _long_history(60),
    [{"role": "user", "content": "Summarise this: " + "The quick brown fox. " * 1000}],
]


class TemplateRefused(ValueError):
    """The template cannot be used; the text says why."""


def check_chat_template(template: str) -> str:
    """The first sample rendered with an admin's override, or TemplateRefused: it must
    render every sample, within the limits, and write the conversation."""
    answer = _probe(template, bos_token="<s>", eos_token="</s>")  # noqa: S106  (sample tokens)
    errors = [e for e in answer["errors"] if e]
    if errors:
        raise TemplateRefused(f"The template fails on a sample conversation: {errors[0]}")
    prompt = answer["prompts"][0]
    if len(prompt) > MAX_CHARS:
        raise TemplateRefused(
            f"The template renders {len(prompt):,} characters for a short sample."
        )
    if "And of Italy?" not in prompt:
        raise TemplateRefused(
            "The template leaves out the conversation: a sample's last message is not in what "
            "it renders. Loop over `messages` and write each `message['content']`."
        )
    return prompt


def check_file_template(info: ModelInfo) -> None:
    """Refuse a model file whose own chat template goes over the limits on the samples, or
    on a branch they do not take. A template that merely fails on a sample is the file's
    maker's choice (some refuse a system message) and is left to an override."""
    if info.chat_template:
        _probe(info.chat_template, bos_token=info.bos_token, eos_token=info.eos_token)


def _probe(template: str, *, bos_token: str, eos_token: str) -> dict:
    """What the probe says of template on the samples; TemplateRefused for a template that
    does not compile or goes over the limits."""
    request = {
        "template": template,
        "bos_token": bos_token,
        "eos_token": eos_token,
        "conversations": SAMPLES,
        "dates": [d.isoformat() for d in _dates()],
    }
    try:
        done = subprocess.run(
            PROBE,
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            cwd=settings.BASE_DIR,
            preexec_fn=_limits,  # noqa: PLW1509  (no threads are started before exec)
        )
    except subprocess.TimeoutExpired:
        raise TemplateRefused(
            f"The chat template took longer than {TIMEOUT_SECONDS} s to render the sample "
            "conversations."
        ) from None
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        raise TemplateRefused(
            "The chat template could not be rendered: the renderer stopped (too much memory "
            "or time?)."
        ) from None
    if "error" in answer:
        raise TemplateRefused(f"The template fails on a sample conversation: {answer['error']}")
    if "over_limits" in answer:
        raise TemplateRefused(
            "The chat template goes over the limits of rendering a conversation: "
            f"{answer['over_limits']}."
        )
    return answer


def _dates() -> list[datetime.datetime]:
    """Now, each day of the coming week, and later dates up to ten years on: what a
    template that reads the date (strftime_now) is rendered on."""
    now = datetime.datetime.now().replace(microsecond=0)
    later = [now + datetime.timedelta(days=d) for d in (1, 2, 3, 4, 5, 6, 7, 31, 92, 183)]
    years = [now.replace(month=1, day=1) + datetime.timedelta(days=366 * y) for y in (1, 2, 5, 10)]
    return [now, *later, *years]


def _limits() -> None:  # runs in the child, before it starts Python
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (TIMEOUT_SECONDS, TIMEOUT_SECONDS + 1))
