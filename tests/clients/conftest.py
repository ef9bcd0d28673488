"""The real clients, as a user runs them, against the live server, worker and model.

Each client is set up as its own documentation says for an OpenAI-compatible server: a
base URL ending in /v1, a key, and otherwise its default settings (retries included).
Run alone with `pytest tests/clients`; the Node SDK needs `make install-test` first
(it installs tests/clients/node/ with npm).

tiktoken (LangChain's and LiteLLM's token counter) downloads its encodings from the
internet the first time one is used, which fails on an offline server. A plain call
does not count tokens; the calls that do (LangChain's get_num_tokens and message
trimming, its OpenAI class with max_tokens=-1, LiteLLM's token_counter and its usage
for a stream without usage) find them where TIKTOKEN_CACHE_DIR points: LiteLLM ships
cl100k_base and o200k_base in its package and points there when imported. See
test_tiktoken_offline.py.
"""

import os
from dataclasses import dataclass

import pytest

from tests.conftest import WorkerProcess
from tests.environment import RUN_DIR
from tests.streams import make_user
from webui.api.models import ApiKey
from webui.registry.bundled import EMBEDDING_SLUG, ensure_bundled_embedding_model

# As on an offline server: LiteLLM's price list from its package, not fetched at import.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@dataclass
class Homefire:
    """What a user of a client is given: the server's /v1 URL, a key and a model's id."""

    base_url: str
    key: str
    model: str
    user: object


@pytest.fixture
def homefire(asgi_server, live_worker, bundled_model) -> Homefire:
    user = make_user("alice")
    _, key = ApiKey.issue(user=user, name="clients")
    return Homefire(f"{asgi_server}/v1", key, bundled_model.slug, user)


@pytest.fixture(scope="package")  # gone before other folders' tests count workers
def embedding_worker(django_db_setup, django_db_blocker):
    """One worker for the bundled embedding model, kept up for the clients' tests."""
    with django_db_blocker.unblock():
        ensure_bundled_embedding_model()
    worker = WorkerProcess(EMBEDDING_SLUG, RUN_DIR / "worker-clients-embeddings.log")
    try:
        yield worker.wait_ready()
    finally:
        worker.stop()


@pytest.fixture
def embedding_model(homefire, embedding_worker) -> str:
    """The bundled embedding model's id, registered again for this test (a transactional
    test empties the database after it) and served by its worker."""
    model, _ = ensure_bundled_embedding_model()
    return model.slug
