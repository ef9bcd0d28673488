"""The reference: plain llama-cpp-python streaming one answer, as a user of it would."""

import statistics
import time
from dataclasses import dataclass


@dataclass
class RawFigures:
    tok_s: float
    ttft_ms: float
    tokens: int


def measure_raw(
    path: str, questions: list[str], *, n_ctx: int, max_tokens: int, threads: int
) -> RawFigures:
    """Stream greedy chat answers with llama_cpp.Llama, one per question; their median.

    The questions are made as the simulated users' are (bench.user_question): the same
    words and the same kind of tag in front, so that both read prompts of the same
    length, and no question reads a prompt the one before it left in the cache.
    """
    from llama_cpp import Llama

    llm = Llama(model_path=path, n_ctx=n_ctx, n_threads=threads, verbose=False)
    try:
        # Warm up once (page in the weights), as a resident worker already is.
        llm.create_chat_completion(messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
        figures = [
            _one_answer(llm, [{"role": "user", "content": question}], max_tokens)
            for question in questions
        ]
    finally:
        llm.close()
    return RawFigures(
        tok_s=statistics.median(f.tok_s for f in figures),
        ttft_ms=statistics.median(f.ttft_ms for f in figures),
        tokens=figures[0].tokens,
    )


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
