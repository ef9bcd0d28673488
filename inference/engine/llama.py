"""LlamaModel: a GGUF file loaded by llama-cpp-python, building prompts and streaming answers."""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property

from llama_cpp import Llama

from inference.engine import options
from inference.engine.batching import BatchEngine
from inference.engine.contract import (
    Arrival,
    Figures,
    Prompt,
    PromptTooLong,
    Sampling,
    common_prefix,
)
from inference.engine.jobs import Job
from inference.engine.template import ChatTemplate


class LlamaModel:
    """A GGUF model held resident by llama-cpp-python for the life of the worker."""

    def __init__(
        self,
        path: str,
        *,
        n_ctx: int,
        n_gpu_layers: int = 0,
        n_threads: int = 0,
        parallel: int = 1,
        kv_cache_type: str = "f16",
        flash_attention: bool = False,
        chat_template: str = "",
        kv_cache_tokens: int | None = None,
    ):
        threads = n_threads or os.cpu_count() or 1
        # This Llama object loads the weights and serves tokenizing and templates; its own
        # small context is unused. Decoding happens in the batch engine's context.
        self.llm = Llama(
            model_path=path,
            n_ctx=64,
            n_batch=64,
            n_gpu_layers=n_gpu_layers,
            n_threads=threads,
            verbose=False,
        )
        self.n_ctx = min(n_ctx, self.llm._model.n_ctx_train())
        self.template = options.chat_template(
            chat_template, self.llm.metadata.get("tokenizer.chat_template")
        )
        eos, bos = self.llm.token_eos(), self.llm.token_bos()
        # A GGUF's template is code from whoever made the file: rendered in jinja2's
        # sandbox, within limits of steps, characters and time (template.py).
        self._template = ChatTemplate(
            self.template,
            eos_token=self.llm._model.token_get_text(eos) if eos != -1 else "",
            bos_token=self.llm._model.token_get_text(bos) if bos != -1 else "",
        )
        self.engine = BatchEngine(
            self.llm,
            parallel=parallel,
            n_ctx=self.n_ctx,
            n_threads=threads,
            kv_type=options.KV_CACHE_TYPES[kv_cache_type],
            flash_attn=flash_attention,
            opening=self.opening(),
            kv_pool=kv_cache_tokens,
        )

    def opening(self) -> list[int]:
        """The tokens every conversation's prompt starts with under this template."""
        one = self._tokens([{"role": "user", "content": "Hello."}])
        other = self._tokens([{"role": "user", "content": "What time is it?"}])
        return one[: common_prefix(one, other)]

    def kv_tokens(self) -> tuple[int, int, int]:
        """KV cells held, of them those kept for a next turn, and the cache's size."""
        return self.engine.kv_tokens()

    def close(self) -> None:
        """Free the model's memory now, not during interpreter shutdown."""
        self.engine.close()
        self.llm.close()

    def _tokens(self, messages: Sequence[dict], tools: Sequence[dict] | None = None) -> list[int]:
        text = self._template.render(messages, tools=tools)
        return self.llm.tokenize(text.encode(), add_bos=True, special=True)

    def build_prompt(
        self,
        messages: Sequence[dict],
        max_tokens: int,
        *,
        answer_prefix: str = "",
        tools: Sequence[dict] | None = None,
        truncate: bool = True,
    ) -> Prompt:
        """Render the history with the model's template, dropping the oldest turns to fit
        (unless `truncate` is false: then a history that does not fit raises PromptTooLong).

        `answer_prefix` is the start of the answer, already written: the prompt ends with
        it, after the template's opening of the assistant's turn and with no end of turn,
        so that the model goes on writing the same answer. `tools`: OpenAI tool definitions
        for the template. Raises PromptTooLong, or TemplateFailed when the template cannot
        render the history within its limits.
        """
        prefix = (
            self.llm.tokenize(answer_prefix.encode(), add_bos=False, special=False)
            if answer_prefix
            else []
        )
        system = [m for m in messages if m["role"] == "system"]
        turns = [m for m in messages if m["role"] != "system"]
        # Leave room for at least a short answer, or the whole answer when it fits.
        budget = self.n_ctx - min(max_tokens, max(self.n_ctx // 4, 16))

        def rendered(dropped: int) -> list[int]:
            return self._tokens(system + turns[dropped:], tools) + prefix

        dropped, tokens = 0, rendered(0)
        if len(tokens) > budget and not truncate:
            raise PromptTooLong(
                f"This conversation is {len(tokens)} tokens long and the answer needs room "
                f"too; the model's context holds {self.n_ctx} tokens in all.",
                prompt_tokens=len(tokens),
                n_ctx=self.n_ctx,
            )
        if len(tokens) > budget:
            dropped, tokens = self._fit_by_blocks(turns, budget, len(prefix), rendered)
        return Prompt(tokens, dropped, max(1, min(max_tokens, self.n_ctx - len(tokens))))

    def _fit_by_blocks(
        self,
        turns: Sequence[dict],
        budget: int,
        reserved: int,
        rendered: Callable[[int], list[int]],
    ) -> tuple[int, list[int]]:
        """The first kept turn and the prompt, for a history longer than `budget`.

        Old turns go in blocks of about half the budget, at cut points fixed by the turns'
        positions from the conversation's start, not from its end: the next turns find the
        same cut, so their prompts begin as this one does and only their new tokens are
        read (docs/decisions/engine-prompt-fitting.md). Dropping one turn at a time would
        move the prompt's start every turn and read the whole window again each time.
        A few renders in all: the turns' own lengths point at the cut, rendering checks it.
        """
        starts = [0]
        for turn in turns:
            text = str(turn.get("content") or "").encode()
            length = len(self.llm.tokenize(text, add_bos=False, special=False))
            starts.append(starts[-1] + length + self._turn_overhead)
        block = max(budget // 2, 1)
        guess = self._first_kept(starts, budget - reserved)
        cut = starts[guess] // block
        last = len(turns) - 1
        while True:
            first_kept = min(bisect_left(starts, cut * block, hi=last), last)
            tokens = rendered(first_kept)
            if len(tokens) <= budget:
                return first_kept, tokens
            if first_kept >= last:
                raise PromptTooLong(
                    f"This message is {len(tokens)} tokens long; the model's context "
                    f"holds {self.n_ctx}, answer included. Shorten it or pick a model "
                    "with a larger context.",
                    prompt_tokens=len(tokens),
                    n_ctx=self.n_ctx,
                )
            cut += 1

    @staticmethod
    def _first_kept(starts: Sequence[int], room: int) -> int:
        """About where the newest turns that fit in `room` tokens begin, by the turns'
        own lengths plus what the template adds to each (`starts`: each turn's position
        from the start, and the end)."""
        return bisect_left(starts, starts[-1] - room)

    @cached_property
    def _turn_overhead(self) -> int:
        """The tokens the template adds around one turn's text."""
        # A question and its answer: templates that want turns to alternate refuse two
        # questions in a row.
        question, answer = {"role": "user", "content": ""}, {"role": "assistant", "content": ""}
        return max(len(self._tokens([question, answer])) - len(self._tokens([question])), 0)

    def build_raw_prompt(self, text: str, max_tokens: int) -> Prompt:
        """Tokenize a plain prompt as it is, with no chat template."""
        tokens = self.llm.tokenize(text.encode(), add_bos=True, special=False)
        if len(tokens) >= self.n_ctx:
            raise PromptTooLong(
                f"This prompt is {len(tokens)} tokens long; the model's context holds "
                f"{self.n_ctx}.",
                prompt_tokens=len(tokens),
                n_ctx=self.n_ctx,
            )
        return Prompt(tokens, 0, max(1, min(max_tokens, self.n_ctx - len(tokens))))

    def stream(
        self,
        prompt: Prompt,
        sampling: Sampling,
        figures: Figures,
        should_stop: Callable[[], bool],
        *,
        user: str = "",
        priority: int = 0,
        every: Callable[[], float] | None = None,
        arrival: Arrival = (0, 0),
        family: str = "",
    ) -> Iterator[str]:
        """Yield the answer's text as it is decoded, beside whatever else is being decoded.

        `should_stop` is asked before each decoding step and must answer at once.
        `user` and `priority` decide the order in which waiting answers get a slot:
        lower priority first (0 for chat, 1 for the API), then round-robin by user; 2 is
        background work, which runs only while no answer is written and raises GaveWay
        when one comes.
        `every` says how many seconds of text to gather into one piece after the first
        (None: a piece per token). `arrival`: its place in a group of answers queued together
        and how many follow it, to be read in one step with them. `family`: answers that
        share one prompt (the n choices of a request), read once and copied.
        """
        job = Job(
            prompt,
            sampling,
            figures,
            should_stop,
            user=user,
            priority=priority,
            every=every,
            arrival=arrival,
            family=family,
        )
        yield from self.engine.stream(job)
