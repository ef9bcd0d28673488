"""Which client calls need tiktoken's encodings, which it downloads on first use (and an
offline server cannot), and the setting that lets them work offline: TIKTOKEN_CACHE_DIR.

Each case runs in a fresh process, as a user's script does, with tiktoken's cache
pointed at an empty folder or at the encodings LiteLLM ships in its package.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import litellm
import pytest

# LiteLLM's copy of cl100k_base and o200k_base, named as tiktoken's cache names them.
BUNDLED = Path(litellm.__file__).parent / "litellm_core_utils" / "tokenizers"

SCRIPT = """
import json, sys
from langchain_openai import ChatOpenAI, OpenAI
base_url, key, model, case = sys.argv[1:]
chat = ChatOpenAI(model=model, base_url=base_url, api_key=key, max_tokens=4)
if case == "calls":
    out = [chat.invoke("Hi").content, "".join(c.content for c in chat.stream("Hi")),
           OpenAI(model=model, base_url=base_url, api_key=key, max_tokens=4).invoke("1, 2,")]
else:  # counting tokens (what a chain's length checks call): tiktoken's cl100k_base
    out = [chat.get_num_tokens("Hello there, how are you?"),
           OpenAI(model=model, base_url=base_url, api_key=key).get_num_tokens("Hello there")]
print(json.dumps(out))
"""


def _run(args: list[str], cache: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(cache))
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_plain_calls_need_no_encoding(homefire, tmp_path):
    # An empty cache: any use of an encoding would try to download it.
    done = _run([homefire.base_url, homefire.key, homefire.model, "calls"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert all(json.loads(done.stdout))
    assert list(tmp_path.iterdir()) == []


def test_counting_tokens_reads_the_encoding_from_tiktoken_cache_dir():
    assert (BUNDLED / "9b5ad71b2ce5302211f9c61530b329a4922fc6a4").is_file()  # cl100k_base
    # Counting happens here, without a request: no server is needed.
    done = _run(["http://127.0.0.1:9/v1", "unused", "smollm2", "counting"], BUNDLED)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == [7, 2]
