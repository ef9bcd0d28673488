"""Check a chat-template override before it is saved: rendered in a sandbox, in a child
process with a time, memory and output limit, on a sample conversation."""

import json
import resource
import subprocess
import sys
from pathlib import Path

SAMPLE = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And of Italy?"},
]
TIMEOUT_SECONDS = 5
MAX_CHARS = 20_000
MEMORY_BYTES = 512 * 1024 * 1024


class TemplateRefused(ValueError):
    """The template does not render the sample conversation; the text says why."""


def _limits() -> None:  # runs in the child, before it starts Python
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (TIMEOUT_SECONDS, TIMEOUT_SECONDS + 1))


def check_chat_template(template: str) -> str:
    """The sample conversation rendered with template, or TemplateRefused."""
    request = json.dumps({"template": template, "messages": SAMPLE, "max_chars": MAX_CHARS})
    try:
        done = subprocess.run(
            [sys.executable, "-I", str(Path(__file__).with_name("template_sandbox.py"))],
            input=request,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            preexec_fn=_limits,  # noqa: PLW1509  (no threads are started before exec)
        )
    except subprocess.TimeoutExpired:
        raise TemplateRefused(
            f"The template took longer than {TIMEOUT_SECONDS} s to render a short sample."
        ) from None
    try:
        answer = json.loads(done.stdout[: MAX_CHARS * 8])
    except ValueError:
        raise TemplateRefused(
            "The template could not be rendered (the sandbox stopped: too much memory or time?)."
        ) from None
    if "error" in answer:
        raise TemplateRefused(f"The template fails on a sample conversation: {answer['error']}")
    prompt = answer["prompt"]
    if "And of Italy?" not in prompt:
        raise TemplateRefused(
            "The template leaves out the conversation: a sample's last message is not in what "
            "it renders. Loop over `messages` and write each `message['content']`."
        )
    return prompt
