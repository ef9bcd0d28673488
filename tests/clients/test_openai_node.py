"""The official openai Node SDK (npm `openai`), run with node as a user's script runs it."""

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from webui.chat.models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

NODE_DIR = Path(__file__).parent / "node"


def test_the_node_sdk_chats_completes_responds_and_copes_with_a_burst(homefire, embedding_model):
    node = shutil.which("node")
    assert node, "Node.js is needed for this test (apt-get install nodejs)"
    assert (NODE_DIR / "node_modules" / "openai").is_dir(), "run `make install-test` (npm ci)"
    env = dict(
        os.environ,
        OPENAI_BASE_URL=homefire.base_url,
        OPENAI_API_KEY=homefire.key,
        HOMEFIRE_MODEL=homefire.model,
        HOMEFIRE_EMBEDDING_MODEL=embedding_model,
    )
    run = subprocess.run(
        [node, "calls.mjs"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)

    assert out["model"] == homefire.model
    assert out["missing"] == {"status": 404, "code": "model_not_found"}
    assert out["chat"]["text"] and out["chat"]["usage"]["completion_tokens"] > 0
    assert out["chatStream"]["text"] and out["chatStream"]["usage"]["completion_tokens"] > 0
    assert out["completion"]
    assert out["response"]["id"].startswith("resp_") and out["response"]["text"]
    stream = out["responseStream"]
    assert stream["types"][:2] == ["response.created", "response.in_progress"]
    assert stream["types"][-1] in {"response.completed", "response.incomplete"}
    assert stream["text"] and stream["final"] == stream["text"]
    assert len(out["parallel"]) == 8

    tools = out["tools"]
    assert tools["finish"] == "tool_calls" and tools["calls"]
    for call in tools["calls"]:
        assert call["name"] == "get_weather" and call["id"].startswith("call_")
        assert isinstance(json.loads(call["arguments"])["city"], str)
    assert tools["final"] and tools["finalCalls"] is None
    results = Message.objects.filter(role="tool").order_by("id")
    assert [r.api_fields["tool_call_id"] for r in results] == [c["id"] for c in tools["calls"]]
    assert set(out["parsed"]) == {"name", "age"} and isinstance(out["parsed"]["age"], int)
    scored = out["logprobs"]
    assert len(scored["content"]) == scored["tokens"] > 0
    # A token that is part of a character has its bytes; "token" holds a replacement mark.
    pieces = bytes(byte for entry in scored["content"] for byte in entry["bytes"])
    assert pieces.decode(errors="replace") == scored["text"]
    for entry in scored["content"]:
        assert entry["logprob"] <= 0 and math.isfinite(entry["logprob"])
        assert len(entry["top_logprobs"]) == 2
    assert [choice["index"] for choice in out["n"]] == [0, 1]
    assert all(choice["text"] for choice in out["n"])
    assert out["embeddings"] == [{"index": 0, "length": 384}, {"index": 1, "length": 384}]
    # 13 before; then the call, its copy in the history sent back, the final answer, the
    # structured one, the scored one and two choices.
    assert Message.objects.filter(role="assistant", status="done").count() == 13 + 7
