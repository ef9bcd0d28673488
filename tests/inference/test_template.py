"""Chat templates rendered within limits: the same prompts as llama-cpp-python renders,
and every way of running away refused with the reason, in bounded time."""

import time
from datetime import datetime

import pytest
from llama_cpp.llama_chat_format import (
    CHATML_CHAT_TEMPLATE,
    LLAMA3_INSTRUCT_CHAT_TEMPLATE,
    MISTRAL_INSTRUCT_CHAT_TEMPLATE,
    Jinja2ChatFormatter,
)

from inference.engine.contract import Prompt, PromptRefused
from inference.engine.options import FALLBACK_TEMPLATE
from inference.engine.template import ChatTemplate, TemplateFailed
from inference.worker.generation import generate_reply
from tests.streams import make_user
from webui.chat.models import Conversation, Message

# Gemma 3's own template (the Gemma file the tests use has none and gets FALLBACK_TEMPLATE).
GEMMA3 = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- set role = "model" if message['role'] == 'assistant' else message['role'] -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'text' -%}{{ item['text'] | trim }}{%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}
"""
LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


@pytest.fixture(scope="module")
def smollm2_template() -> str:
    from webui.registry.bundled import bundled_model_path
    from webui.registry.gguf_info import inspect_gguf

    return inspect_gguf(bundled_model_path()).chat_template


def conversation(turns: int, *, system: bool = True) -> list[dict]:
    messages = [{"role": "system", "content": "Réponds brièvement. 你好 🙂"}] if system else []
    for n in range(turns):
        messages += [
            {"role": "user", "content": f"Question {n}: what is {n} + {n}?"},
            {"role": "assistant", "content": f"It is {2 * n}.\n  Anything else?  "},
        ]
    return [*messages, {"role": "user", "content": "Thanks — that's all."}]


def render(template: str, *, explore: bool = False, messages=None) -> str:
    return ChatTemplate(template, explore=explore).render(messages or conversation(1))


def refusal(template: str, *, explore: bool = False) -> TemplateFailed:
    started = time.monotonic()
    with pytest.raises(TemplateFailed) as caught:
        render(template, explore=explore)
    assert time.monotonic() - started < 15
    return caught.value


class TestSamePromptsAsLlamaCpp:
    @pytest.mark.parametrize(
        "name",
        ["smollm2", "fallback", "gemma3", "chatml", "llama3", "mistral"],
    )
    @pytest.mark.parametrize("turns", [0, 3, 200])
    def test_renders_what_jinja2_chat_formatter_renders(self, name, turns, smollm2_template):
        template = {
            "smollm2": smollm2_template,
            "fallback": FALLBACK_TEMPLATE,
            "gemma3": GEMMA3,
            "chatml": CHATML_CHAT_TEMPLATE,
            "llama3": LLAMA3_INSTRUCT_CHAT_TEMPLATE,
            "mistral": MISTRAL_INSTRUCT_CHAT_TEMPLATE,
        }[name]
        messages = conversation(turns, system=name != "mistral")
        tokens = {"bos_token": "<s>", "eos_token": "</s>"}  # noqa: S106  (sample tokens)

        ours = ChatTemplate(template, **tokens).render(messages)

        assert ours == Jinja2ChatFormatter(template=template, **tokens)(messages=messages).prompt

    def test_strftime_now_reads_the_date_it_is_given(self):
        template = (
            "{{ strftime_now('%Y-%m-%d') }}{% for m in messages %}{{ m.content }}{% endfor %}"
        )

        prompt = ChatTemplate(template).render(conversation(0), now=datetime(2031, 5, 17))

        assert prompt.startswith("2031-05-17")

    def test_the_sandbox_still_refuses_python_internals(self):
        failed = refusal("{{ ''.__class__.__mro__[1].__subclasses__() }}")
        assert not failed.over_limits and "SecurityError" in failed.detail


DOUBLING = "{% set ns = namespace(t='x') %}{% for i in range(48) %}{% set ns.t = ns.t OP ns.t %}"
NESTING = "".join(
    f"{{% set {b} = [{a},{a},{a},{a},{a},{a},{a},{a}] %}}"
    for a, b in ("ab", "bc", "cd", "de", "ef")
)
# A runaway template, and the limit it runs into.
RUNAWAY = {
    "loop of 10^10 turns": (LOOP, "steps"),
    "macro calling itself twice": (
        "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
        "steps",
    ),
    "text in a loop": (LOOP.replace("{% endfor %}", "x" * 100 + "{% endfor %}", 1), "characters"),
    "~ doubling": (DOUBLING.replace("OP", "~") + "{% endfor %}", "characters"),
    "+ doubling": (DOUBLING.replace("OP", "+") + "{% endfor %}", "characters"),
    "set block": (
        "{% set s %}{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}{% endset %}",
        "characters",
    ),
    "'x' * n": ("{{ 'x' * 10**10 }}", "characters"),
    "power": ("{{ 7 ** (10**9) }}", "characters"),
    "ljust": ("{{ 'x'.ljust(10**10) }}", "characters"),
    "center": ("{{ 'x'|center(10**10) }}", "characters"),
    "indent": ("{{ ('a\n' * 100000)|indent(100000) }}", "characters"),
    "format width": ("{{ '{:>10000000000}'.format(1) }}", "characters"),
    "% width": ("{{ '%10000000000d' % 1 }}", "characters"),
    "join of a map": ("{{ range(100000)|map('center', 900000)|join }}", "characters"),
    "replace": ("{{ ('x' * 1000).replace('x', 'y' * 100000) }}", "characters"),
    "to_bytes": ("{{ (1).to_bytes(10**10, 'big') }}", "characters"),
    "nested lists": ("{% set a = ['xxxxxxxxxx'] %}" + NESTING + "{{ [f,f,f,f,f] }}", "characters"),
    "slow steps": (
        "{% for i in range(100000) %}{% set n = range(100000)|list|length %}{% endfor %}",
        "took more than 2 s",
    ),
}


class TestLimits:
    @pytest.mark.parametrize(("template", "reason"), RUNAWAY.values(), ids=RUNAWAY.keys())
    def test_a_runaway_template_ends_with_the_reason(self, template, reason):
        failed = refusal(template)

        assert failed.over_limits and reason in failed.detail
        assert isinstance(failed, PromptRefused)
        assert "chat template went over its render limits" in str(failed)

    def test_the_limits_grow_with_the_conversation(self, smollm2_template):
        # 2,000 turns of 3,000 characters: far more than any context, still rendered.
        messages = [
            {"role": "user" if n % 2 == 0 else "assistant", "content": f"{n} " + "w" * 3000}
            for n in range(2001)
        ]
        assert len(ChatTemplate(smollm2_template).render(messages)) > 6_000_000

    def test_each_render_has_its_own_budget(self, smollm2_template):
        template = ChatTemplate(smollm2_template)
        for _ in range(300):  # together far past one render's steps
            template.render(conversation(100))

    def test_a_template_that_fails_says_why(self):
        failed = refusal("{{ raise_exception('no system role here') }}")

        assert not failed.over_limits
        assert failed.detail == "ValueError: no system role here"
        assert "refused it (ValueError: no system role here)" in str(failed)

    def test_deep_recursion_is_a_failure_not_a_crash(self):
        failed = refusal("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}")
        assert failed.detail == "it calls itself too deeply"


class TestExploring:
    @pytest.mark.parametrize(
        "gate",
        [
            "{% if 'zebra' in messages[-1]['content'] %}" + LOOP + "{% endif %}",
            "{% if strftime_now('%Y') > '2090' %}" + LOOP + "{% elif false %}{% else %}{% endif %}",
            "{% if false %}{% elif 'zebra' in messages[0].content %}" + LOOP + "{% endif %}",
            "{% for i in range(100000 if 'zebra' in messages[0].content else 0) %}"
            "{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "{% macro boom() %}"
            + LOOP
            + "{% endmacro %}{{ 'zebra' in messages[0].content and boom() }}",
            "{% for m in messages if 'zebra' in m.content %}" + LOOP + "{% endfor %}",
            "{% for m in messages %}{% if true %}{% break %}{% endif %}"
            "{% if 'zebra' in m.content %}" + LOOP + "{% endif %}{% endfor %}",
            "{% set x = nothing.at.all + 1 %}{% if 'zebra' in messages[0].content %}"
            + LOOP
            + "{% endif %}",
        ],
    )
    def test_a_trap_behind_a_condition_is_found_by_taking_every_branch(self, gate):
        template = gate + CHATML_CHAT_TEMPLATE
        try:
            render(template)  # no sample conversation springs it
        except TemplateFailed as exc:
            assert not exc.over_limits
        assert refusal(template, explore=True).over_limits

    @pytest.mark.parametrize("template", [GEMMA3, CHATML_CHAT_TEMPLATE, FALLBACK_TEMPLATE])
    def test_real_templates_explore_within_the_limits(self, template):
        render(template, explore=True, messages=conversation(60))


@pytest.mark.django_db(transaction=True)
def test_a_template_over_its_limits_fails_that_answer_with_the_reason(bundled_model):
    """The generation loop ends the answer failed with the template's reason."""

    class TemplatedModel:
        n_ctx = 2048
        template = ChatTemplate(
            "{% for m in messages %}{% set n = m.content.count('zebra') %}"
            "{% for i in range(n * 100000) %}{% for j in range(n * 100000) %}{% endfor %}"
            "{% endfor %}{{ m.content }}{% endfor %}"
        )

        def build_prompt(
            self, messages, max_tokens, *, answer_prefix="", tools=None, truncate=True
        ):
            self.template.render(messages)
            return Prompt([1], 0, max_tokens)

    chat = Conversation.objects.create(owner=make_user("zed"), model=bundled_model)
    Message.objects.create(conversation=chat, role="user", content="A zebra?")
    answer = Message.objects.create(
        conversation=chat, role="assistant", status="queued", model=bundled_model
    )

    assert generate_reply(answer.pk, model=TemplatedModel(), worker_name="w") == "failed"

    answer.refresh_from_db()
    assert "chat template went over its render limits (it took more than" in answer.error
