"""Render a chat template on sample conversations as the worker would, and exploring every
branch: `python -m inference.engine.template_probe`, JSON in on stdin, JSON out on stdout.

The web's registration check (webui/registry/template_check.py) runs this in a child
process with its own memory, CPU and time limits: the web never imports the engine, and
a template is then judged by the very code that renders it in the worker. It needs only
jinja2, no llama_cpp, so it runs where the web server runs.

In: {"template", "bos_token", "eos_token", "conversations": [[message, ...], ...],
"dates": [ISO datetime, ...]}. Out: {"over_limits": reason} as soon as one render goes
over its limits, else {"prompts": [the first date's prompt per conversation, or null],
"errors": [the first error per conversation, or null]}, or {"error": reason} for a
template that does not compile.
"""

import json
import sys
from datetime import datetime

from inference.engine.template import ChatTemplate, TemplateFailed


def probe(request: dict) -> dict:
    """Render every conversation on every date, then once exploring every branch."""
    tokens = {"bos_token": request["bos_token"], "eos_token": request["eos_token"]}
    try:
        strict = ChatTemplate(request["template"], **tokens)
        exploring = ChatTemplate(request["template"], explore=True, **tokens)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]}
    dates = [datetime.fromisoformat(d) for d in request["dates"]]
    prompts, errors = [], []
    for number, messages in enumerate(request["conversations"], 1):
        prompt = error = None
        for date in dates:
            try:
                text = strict.render(messages, now=date)
            except TemplateFailed as exc:
                if exc.over_limits:
                    on = f"sample conversation {number}"
                    if date != dates[0]:
                        on += f" with the date set to {date:%Y-%m-%d}"
                    return {"over_limits": f"{exc.detail}, on {on}"}
                error = error or exc.detail
                break
            prompt = text if prompt is None else prompt
        try:
            exploring.render(messages, now=dates[0])
        except TemplateFailed as exc:
            # A branch the sample did not take may well fail on it; only a branch that
            # goes over the limits refuses the template.
            if exc.over_limits:
                return {
                    "over_limits": f"{exc.detail}, on sample conversation {number} with every "
                    "branch taken (a trap that only some conversations would spring)"
                }
        prompts.append(prompt)
        errors.append(error)
    return {"prompts": prompts, "errors": errors}


def main() -> None:
    try:
        answer = probe(json.load(sys.stdin))
    except MemoryError:
        answer = {"over_limits": "it needs more memory than a render may take"}
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
