"""Render a chat template on a sample conversation; run as a child process with limits.

Reads {"template": ..., "messages": [...], "max_chars": N} as JSON on stdin and writes
{"prompt": ...} or {"error": ...} as JSON on stdout. The template is rendered the way the
worker renders it (jinja2's immutable sandbox, as llama-cpp-python's Jinja2ChatFormatter),
so a template that passes here renders there.
"""

import json
import sys


def render(template: str, messages: list[dict]) -> str:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str):
        raise ValueError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    compiled = env.from_string(template)
    return compiled.render(
        messages=messages,
        bos_token="<s>",  # noqa: S106  (sample special tokens, not secrets)
        eos_token="</s>",  # noqa: S106
        add_generation_prompt=True,
        raise_exception=raise_exception,
        strftime_now=lambda fmt: "",
    )


def main() -> None:
    request = json.load(sys.stdin)
    try:
        prompt = render(request["template"], request["messages"])
    except MemoryError:
        json.dump(
            {"error": "it needs more memory than allowed to render a short sample"}, sys.stdout
        )
        return
    except Exception as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        json.dump({"error": f"{type(exc).__name__}: {reason}"[:500]}, sys.stdout)
        return
    if len(prompt) > request["max_chars"]:
        json.dump(
            {"error": f"it renders {len(prompt):,} characters for a short sample"}, sys.stdout
        )
        return
    json.dump({"prompt": prompt}, sys.stdout)


if __name__ == "__main__":
    main()
