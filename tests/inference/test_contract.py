"""The engine's contract: the fake and the real model match TextModel, and the engine
package stands alone (no Django, no web; the contract loads no llama_cpp)."""

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import inference.engine
from inference.engine.contract import TextModel
from inference.engine.llama import LlamaModel
from tests.inference.fakes import CannedModel

ENGINE = Path(inference.engine.__file__).parent
REPO = ENGINE.parent.parent
PROTOCOL_METHODS = sorted(
    name
    for name, value in vars(TextModel).items()
    if inspect.isfunction(value) and not name.startswith("_")
)


def _shape(function) -> list[tuple]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_the_protocol_names_the_methods_the_worker_calls():
    assert PROTOCOL_METHODS == ["build_prompt", "build_raw_prompt", "close", "stream"]


@pytest.mark.parametrize("implementation", [CannedModel, LlamaModel], ids=lambda c: c.__name__)
@pytest.mark.parametrize("method", PROTOCOL_METHODS)
def test_each_model_takes_the_protocols_arguments(implementation, method):
    expected = _shape(getattr(TextModel, method))
    assert _shape(getattr(implementation, method)) == expected


def test_the_real_model_has_the_protocols_attributes():
    from webui.registry.bundled import bundled_model_path

    model = LlamaModel(bundled_model_path(), n_ctx=256)
    try:
        for name in TextModel.__annotations__:
            assert hasattr(model, name) and hasattr(CannedModel, name), name
    finally:
        model.close()


def test_importing_the_contract_loads_neither_llama_cpp_nor_django():
    check = (
        "import inference.engine.contract, sys; "
        "loaded = {'llama_cpp', 'numpy', 'django'} & set(sys.modules); "
        "assert not loaded, loaded"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _outside_the_engine(name: str) -> bool:
    root = name.split(".")[0]
    if root == "inference":
        return not (name == "inference.engine" or name.startswith("inference.engine."))
    return root in {"django", "webui", "celery", "channels"}


@pytest.mark.parametrize("path", sorted(ENGINE.glob("*.py")), ids=lambda p: p.name)
def test_no_engine_module_imports_django_the_web_or_the_worker(path):
    assert not [name for name in _imports(path) if _outside_the_engine(name)]


def test_the_decoder_does_not_import_the_model():
    """batching is below llama: the model builds on the decoder, never the other way."""
    imported = _imports(ENGINE / "batching.py")
    ours = {
        name.removeprefix("inference.engine.").split(".")[0]
        for name in imported
        if name.startswith("inference.engine.")
    }
    assert ours <= {
        "contract",
        "jobs",
        "mailbox",
        "stopping",
        "arriving_group",
        "sampler_chain",
        "token_logprobs",
        "batch_rows",
        "output_logits",
        "pieces",
        "slot_caches",
    }
