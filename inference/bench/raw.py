"""The reference: plain llama-cpp-python streaming one answer, as a user of it would."""

import statistics
import time
from dataclasses import dataclass


@dataclass
class RawFigures:
    tok_s: float
    ttft_ms: float
    tokens: int

    @classmethod
    def median(cls, answers: list["RawFigures"]) -> "RawFigures":
        return cls(
            tok_s=statistics.median(a.tok_s for a in answers),
            ttft_ms=statistics.median(a.ttft_ms for a in answers),
            tokens=answers[0].tokens,
        )


class RawReference:
    """llama_cpp.Llama on the model, loaded once for the whole run and asked one question
    at a time between the system's rounds, so that both meet the machine in the same
    state (its speed drifts by 10–20% over minutes here).

    Questions are made as the simulated users' are (bench.user_question): the same words
    and the same kind of tag in front, so that both read prompts of the same length, and
    no question reads a prompt the one before it left in the cache.
    """

    def __init__(
        self, path: str, *, n_ctx: int, max_tokens: int, threads: int, gpu_layers: int = 0
    ):
        from llama_cpp import Llama

        self.max_tokens = max_tokens
        self.llm = Llama(
            model_path=path,
            n_ctx=n_ctx,
            n_threads=threads,
            n_gpu_layers=gpu_layers,  # the model's own setting: on a GPU where the worker is
            verbose=False,
        )
        # Warm up once (page in the weights), as a resident worker already is.
        self.llm.create_chat_completion(messages=[{"role": "user", "content": "Hi"}], max_tokens=4)

    def read_ms(self, prompt_tokens: int) -> float:
        """Milliseconds to read a fresh prompt of `prompt_tokens` tokens once."""
        words = " ".join(f"word{i % 97}" for i in range(prompt_tokens))
        tokens = self.llm.tokenize(words.encode())[: max(prompt_tokens, 1)]
        self.llm.reset()
        start = time.perf_counter()
        self.llm.eval(tokens)
        return (time.perf_counter() - start) * 1000

    def ask(self, question: str) -> RawFigures:
        return _one_answer(self.llm, [{"role": "user", "content": question}], self.max_tokens)

    def close(self) -> None:
        self.llm.close()


def _one_answer(llm, messages: list[dict], max_tokens: int) -> RawFigures:
    start = time.perf_counter()
    first = last = None
    tokens = 0
    for chunk in llm.create_chat_completion(
        messages=messages, max_tokens=max_tokens, temperature=0, stream=True
    ):
        if chunk["choices"][0]["delta"].get("content"):
            last = time.perf_counter()
            first = first or last
            tokens += 1
    span = (last - first) if first and last and tokens > 1 else None
    return RawFigures(
        tok_s=(tokens - 1) / span if span else 0.0,
        ttft_ms=((first or start) - start) * 1000,
        tokens=tokens,
    )
