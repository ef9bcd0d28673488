"""`manage.py bench --engine`: the batch engine alone beside llama-batched-bench, on a tiny
random-weight model made by ../shared/gpu/make_model.py (figures are printed, not judged)."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from inference.bench import engine as engine_bench

# The kit beside the checkout (../shared/gpu), as the issue provides it to tests and CI.
MAKE_MODEL = Path(__file__).resolve().parents[3] / "shared" / "gpu" / "make_model.py"
KEYS = {
    "users",
    "engine_tok_s_total",
    "batched_bench_tok_s",
    "engine_vs_batched_bench",
    "engine_vs_batched_bench_iqr",
    "python_us_per_answer_step",
    "tokens",
    "rounds",
}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    if not MAKE_MODEL.is_file():
        pytest.skip(f"{MAKE_MODEL} is not there: this checkout is not beside ../shared")
    path = tmp_path_factory.mktemp("tiny") / "tiny.gguf"
    subprocess.run(
        [sys.executable, str(MAKE_MODEL), "gen", "--shape", "tiny", "--out", str(path)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return str(path)


@pytest.fixture
def stand_in(tmp_path) -> Path:
    """A llama-batched-bench that prints one JSONL line at 1,000 tok/s, and its arguments."""
    script = tmp_path / "llama-batched-bench"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {tmp_path}/args\n'
        'echo \'{"pp": 16, "tg": 127, "t_tg": 1.0, "speed_tg": 1000.0}\'\n'
    )
    script.chmod(0o755)
    return script


def test_batched_bench_runs_with_the_engines_context_and_the_answers_steps():
    params = SimpleNamespace(
        n_ctx=2048,
        n_batch=512,
        n_ubatch=512,
        n_threads=2,
        n_threads_batch=2,
        flash_attn_type=-1,
        kv_unified=False,
    )
    command = engine_bench.batched_bench_command(
        "/bin/bb", "m.gguf", SimpleNamespace(context_params=params), 8
    )
    flags = {flag: value for flag, value in zip(command, command[1:], strict=False)}
    assert flags["-c"] == "2048" and flags["-b"] == "512" and flags["-ub"] == "512"
    assert flags["-t"] == "2" and flags["-tb"] == "2" and flags["-fa"] == "auto"
    assert flags["-npp"] == str(engine_bench.PROMPT_TOKENS)
    # An answer of 128 tokens takes 127 steps after its prompt's.
    assert flags["-ntg"] == str(engine_bench.ANSWER_TOKENS - 1) and flags["-npl"] == "8"
    assert "-no-kvu" in command
    params.kv_unified = True
    command = engine_bench.batched_bench_command(
        "/bin/bb", "m.gguf", SimpleNamespace(context_params=params), 8
    )
    assert "-kvu" in command and "-no-kvu" not in command


def test_the_engine_is_measured_round_by_round_against_the_reference(tiny_model, stand_in):
    rows = engine_bench.measure(tiny_model, [1, 4], str(stand_in), rounds=3, threads=2)
    assert [row["users"] for row in rows] == [1, 4]
    for row in rows:
        assert set(row) >= KEYS
        # Every answer ran its whole length: 127 tokens each after its first.
        assert row["tokens"] == row["users"] * (engine_bench.ANSWER_TOKENS - 1)
        assert row["rounds"] == 3 and row["batched_bench_tok_s"] == 1000.0
        # Each round's ratio is over that round's reference: here always 1,000 tok/s.
        assert row["engine_vs_batched_bench"] == pytest.approx(
            row["engine_tok_s_total"] / 1000, abs=0.002
        )
        low, high = row["engine_vs_batched_bench_iqr"]
        assert low <= row["engine_vs_batched_bench"] <= high
        assert row["python_us_per_answer_step"] > 0
    args = (stand_in.parent / "args").read_text().splitlines()
    assert len(args) == 6  # a run per answer count per round
    # One engine at a time: every round of one answer count, then the next count's.
    assert all("-npl 1 " in line for line in args[:3])
    assert all("-npl 4 " in line for line in args[3:])


def test_a_missing_reference_is_refused_before_anything_loads(tiny_model, tmp_path):
    with pytest.raises(engine_bench.EngineBenchError, match="not an executable"):
        engine_bench.measure(tiny_model, [1], str(tmp_path / "nothing"), rounds=1)


def _built_batched_bench() -> str | None:
    found = sorted(Path.home().glob(".cache/homefire/llama-tools/*/bin/llama-batched-bench"))
    return str(found[-1]) if found else None


@pytest.mark.skipif(not _built_batched_bench(), reason="make llama-tools has not been run")
def test_the_command_prints_both_figures_from_the_real_batched_bench(tiny_model):
    out = StringIO()
    call_command(
        "bench",
        "--engine",
        "--model",
        tiny_model,
        "--users",
        "1,2",
        "--rounds",
        "1",
        "--batched-bench",
        _built_batched_bench(),
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    rows = json.loads(out.getvalue())
    assert [row["users"] for row in rows] == [1, 2]
    for row in rows:
        assert row["engine_tok_s_total"] > 0 and row["batched_bench_tok_s"] > 0
        assert row["engine_vs_batched_bench"] > 0
