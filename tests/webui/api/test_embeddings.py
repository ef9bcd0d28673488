"""POST /v1/embeddings through the official openai client, against the real server and a
real worker holding the bundled embedding model (all-MiniLM-L6-v2)."""

import base64
import json
import time
import urllib.error
import urllib.request

import numpy as np
import openai
import pytest

from tests.conftest import WorkerProcess
from tests.environment import RUN_DIR
from tests.streams import make_user
from webui.api.models import ApiKey
from webui.registry.bundled import EMBEDDING_SLUG, ensure_bundled_embedding_model
from webui.registry.models import LLMModel
from webui.team.models import UsageRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

FOOD, BREAD, MOVIE = (
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
)


@pytest.fixture(scope="module")
def embedding_worker(django_db_setup, django_db_blocker):
    """One worker for the bundled embedding model, for this module's tests."""
    with django_db_blocker.unblock():
        ensure_bundled_embedding_model()
    worker = WorkerProcess(EMBEDDING_SLUG, RUN_DIR / "worker-embeddings.log").wait_ready()
    yield worker
    worker.stop()


@pytest.fixture
def embedding_model(db):
    model, _ = ensure_bundled_embedding_model()
    return model


@pytest.fixture
def api(asgi_server, embedding_worker, embedding_model):
    _, raw = ApiKey.issue(user=make_user("alice"), name="tests")
    return openai.OpenAI(base_url=f"{asgi_server}/v1", api_key=raw, max_retries=0, timeout=60)


def _post(url: str, key: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_float_vectors_with_usage(api):
    reply = api.embeddings.create(
        model=EMBEDDING_SLUG, input=[FOOD, BREAD, MOVIE], encoding_format="float"
    )
    vectors = np.array([item.embedding for item in reply.data])
    assert [item.index for item in reply.data] == [0, 1, 2]
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # A paraphrase is closer than an unrelated sentence.
    assert vectors[0] @ vectors[1] > 0.6 > 0.1 > vectors[0] @ vectors[2]
    assert reply.model == EMBEDDING_SLUG
    assert reply.usage.prompt_tokens == reply.usage.total_tokens == 8 + 11 + 8
    record = UsageRecord.objects.get()
    assert (record.prompt_tokens, record.via, record.model.slug) == (27, "api", EMBEDDING_SLUG)


def test_base64_is_little_endian_float32_of_the_same_vectors(api):
    floats = api.embeddings.create(model=EMBEDDING_SLUG, input=FOOD, encoding_format="float")
    encoded = api.embeddings.create(model=EMBEDDING_SLUG, input=FOOD, encoding_format="base64")
    raw = base64.b64decode(encoded.data[0].embedding)
    assert np.allclose(np.frombuffer(raw, dtype="<f4"), floats.data[0].embedding, atol=1e-6)
    # The SDK's default asks for base64 and decodes it itself.
    default = api.embeddings.create(model=EMBEDDING_SLUG, input=[FOOD])
    assert np.allclose(default.data[0].embedding, floats.data[0].embedding, atol=1e-6)


def test_token_id_inputs_give_the_vector_of_their_text(api):
    # [CLS] hello world [SEP] in the model's own vocabulary.
    ids = api.embeddings.create(
        model=EMBEDDING_SLUG, input=[[101, 7592, 2088, 102]], encoding_format="float"
    )
    text = api.embeddings.create(model=EMBEDDING_SLUG, input="Hello world", encoding_format="float")
    assert np.allclose(ids.data[0].embedding, text.data[0].embedding, atol=1e-5)
    assert ids.usage.prompt_tokens == 4
    single = api.embeddings.create(
        model=EMBEDDING_SLUG, input=[101, 7592, 2088, 102], encoding_format="float"
    )
    assert len(single.data) == 1


def test_dimensions_only_at_the_models_own_size(api):
    same = api.embeddings.create(model=EMBEDDING_SLUG, input=FOOD, dimensions=384)
    assert len(same.data[0].embedding) == 384
    with pytest.raises(openai.BadRequestError) as caught:
        api.embeddings.create(model=EMBEDDING_SLUG, input=FOOD, dimensions=128)
    body = caught.value.body
    assert (body["param"], body["code"]) == ("dimensions", "invalid_dimensions")
    assert "384" in body["message"]


def test_an_input_past_the_context_is_refused_naming_it(api):
    with pytest.raises(openai.BadRequestError) as caught:
        api.embeddings.create(model=EMBEDDING_SLUG, input=[FOOD, "word " * 600])
    body = caught.value.body
    assert (body["param"], body["code"]) == ("input", "context_length_exceeded")
    assert body["message"].startswith("Input 1 is 602 tokens long")
    with pytest.raises(openai.BadRequestError) as caught:
        api.embeddings.create(model=EMBEDDING_SLUG, input=[[101, 999999, 102]])
    assert caught.value.body["code"] == "invalid_token"


def test_request_errors_are_openai_shaped(api, asgi_server):
    key = api.api_key
    url = f"{asgi_server}/v1/embeddings"
    for body, param in [
        ({"model": EMBEDDING_SLUG}, "input"),
        ({"model": EMBEDDING_SLUG, "input": []}, "input"),
        ({"model": EMBEDDING_SLUG, "input": ""}, "input"),
        ({"model": EMBEDDING_SLUG, "input": ["a", [1, 2]]}, "input"),
        ({"model": EMBEDDING_SLUG, "input": ["x"] * 2049}, "input"),
        ({"model": EMBEDDING_SLUG, "input": "x", "encoding_format": "int8"}, "encoding_format"),
        ({"model": EMBEDDING_SLUG, "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": EMBEDDING_SLUG, "input": "x", "temperature": 1}, "temperature"),
        ({"input": "x"}, "model"),
    ]:
        status, reply = _post(url, key, body)
        assert (status, reply["error"]["param"]) == (400, param), (body, reply)
    status, reply = _post(url, key, {"model": "text-embedding-3-small", "input": "x"})
    assert (status, reply["error"]["code"]) == (404, "model_not_found")
    status, reply = _post(url, "hf_wrong", {"model": EMBEDDING_SLUG, "input": "x"})
    assert (status, reply["error"]["code"]) == (401, "invalid_api_key")


def test_chat_and_embedding_models_refuse_each_others_work(api, bundled_model):
    with pytest.raises(openai.BadRequestError) as caught:
        api.embeddings.create(model="smollm2", input="x")
    assert caught.value.body["code"] == "model_not_embedding"
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(
            model=EMBEDDING_SLUG, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.body["code"] == "model_not_chat"


def test_models_lists_embedding_models_too(api, bundled_model):
    assert {m.id for m in api.models.list().data} == {"smollm2", EMBEDDING_SLUG}
    assert api.models.retrieve(EMBEDDING_SLUG).id == EMBEDDING_SLUG


def test_parallel_requests_all_succeed(api):
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"Request {i} is about the budget of team {i}." for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        replies = list(
            pool.map(lambda t: api.embeddings.create(model=EMBEDDING_SLUG, input=t), texts)
        )
    assert all(len(r.data[0].embedding) == 384 for r in replies)


def test_a_model_without_a_worker_is_503_at_once(api, embedding_model):
    LLMModel.objects.create(
        name="Idle embeddings", slug="idle-emb", role="embedding", path=embedding_model.path
    )
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError) as caught:
        api.embeddings.create(model="idle-emb", input="x")
    assert caught.value.status_code == 503
    assert caught.value.body["code"] == "model_unavailable"
    assert time.monotonic() - started < 5


def test_a_worker_that_dies_mid_request_is_503_not_a_hang(api, embedding_model, settings):
    doomed = LLMModel.objects.create(
        name="Doomed embeddings",
        slug="doomed-emb",
        role="embedding",
        path=embedding_model.path,
        context_size=512,
        parallel=4,
    )
    worker = WorkerProcess(doomed.slug, RUN_DIR / "worker-doomed.log").wait_ready()
    from webui.registry import embeddings

    try:
        # Long enough to be still computing when the worker is killed.
        request_id = embeddings.send(doomed, ["A long sentence about nothing at all. " * 40] * 400)
        deadline = time.monotonic() + 20
        from webui.core.redis import client, keys

        while not client().llen(keys.embedding_reply(request_id)):
            assert time.monotonic() < deadline, "the worker never took the request"
            time.sleep(0.05)
        worker.kill()
        started = time.monotonic()
        with pytest.raises(embeddings.EmbeddingUnavailable, match="stopped"):
            embeddings.wait(doomed, request_id, timeout=60)
        # Within the heartbeat's lifetime, not the request's timeout.
        assert time.monotonic() - started <= settings.HOMEFIRE["WORKER_HEARTBEAT_TIMEOUT"] + 3
    finally:
        worker.stop()


def test_many_inputs_in_one_request_go_faster_per_input(api):
    """Embeddings per second through HTTP, Redis and the worker (print with -s)."""
    texts = [
        f"Note {i}: the quarterly report says revenue grew in every region, while costs in "
        f"office {i} rose faster than planned because of new hires, rent and travel. The "
        "board will review the plan again at its next meeting, early in the spring."
        for i in range(32)
    ]
    rates = {}
    for n in (1, 32):
        api.embeddings.create(model=EMBEDDING_SLUG, input=texts[:n])  # warm
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < 3:
            reply = api.embeddings.create(model=EMBEDDING_SLUG, input=texts[:n])
            done += len(reply.data)
        rates[n] = done / (time.perf_counter() - started)
        print(f"\n{n:>2} inputs a request: {rates[n]:6.1f} embeddings/s through the API")
    assert rates[32] > 1.3 * rates[1]
