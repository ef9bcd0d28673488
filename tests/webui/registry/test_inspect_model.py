import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.environment import ROOT

JSON_KEYS = {
    "architecture",
    "parameters",
    "active_parameters",
    "experts",
    "experts_used",
    "quantization",
    "bits_per_weight",
    "context_length",
    "has_chat_template",
    "size_bytes",
    "cpu_batched_share",
}


def inspect_model(*args) -> str:
    out = StringIO()
    call_command("inspect_model", *args, stdout=out)
    return out.getvalue()


def test_json_output_has_exactly_the_documented_keys(smollm2_path):
    data = json.loads(inspect_model(str(smollm2_path), "--json"))

    assert set(data) == JSON_KEYS
    assert data["architecture"] == "llama"
    assert data["quantization"] == "Q4_1"
    assert data["experts"] is None
    assert data["has_chat_template"] is True


def test_json_output_for_gemma(gemma_path):
    data = json.loads(inspect_model(str(gemma_path), "--json"))

    assert set(data) == JSON_KEYS
    assert (data["architecture"], data["quantization"]) == ("gemma3", "Q4_K_M")


def test_table_output_is_readable(smollm2_path):
    output = inspect_model(str(smollm2_path))

    assert "architecture       llama" in output
    assert "context length     8,192" in output
    assert (
        "cpu batched share  21% of the weights: llama.cpp has no batched CPU kernel for Q4_1"
        in (output)
    )


def test_refused_file_raises_command_error(tmp_path):
    path = tmp_path / "notes.gguf"
    path.write_text("hello")

    with pytest.raises(CommandError, match="not a GGUF file"):
        inspect_model(str(path))


def test_refused_file_exits_non_zero_with_one_line_on_stderr(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "inspect_model", str(tmp_path / "absent.gguf"), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0
    assert "no such file" in result.stderr
