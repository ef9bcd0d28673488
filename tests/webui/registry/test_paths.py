import pytest

from webui.registry.paths import OutsideModelsDir, resolve_model_path


def test_file_inside_models_dir_resolves_to_itself(models_dir):
    model = models_dir / "inside.gguf"
    model.touch()

    assert resolve_model_path("inside.gguf", models_dir) == model.resolve()
    assert resolve_model_path(str(model), models_dir) == model.resolve()


def test_symlink_within_models_dir_is_followed(models_dir):
    (models_dir / "real").mkdir(exist_ok=True)
    target = models_dir / "real" / "model.gguf"
    target.touch()
    link = models_dir / "alias.gguf"
    link.symlink_to(target)

    assert resolve_model_path(str(link), models_dir) == target.resolve()


def test_symlink_pointing_outside_is_refused(models_dir, tmp_path):
    outside = tmp_path / "secret.gguf"
    outside.touch()
    link = models_dir / "escape.gguf"
    link.symlink_to(outside)

    with pytest.raises(OutsideModelsDir, match="outside"):
        resolve_model_path(str(link), models_dir)


def test_symlinked_folder_pointing_outside_is_refused(models_dir, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "model.gguf").touch()
    (models_dir / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)

    with pytest.raises(OutsideModelsDir):
        resolve_model_path("linked/model.gguf", models_dir)


@pytest.mark.parametrize(
    "path", ["../outside.gguf", "sub/../../outside.gguf", "/etc/passwd", "./../../x.gguf"]
)
def test_escapes_are_refused(path, models_dir):
    with pytest.raises(OutsideModelsDir):
        resolve_model_path(path, models_dir)


def test_dot_dot_that_stays_inside_is_allowed(models_dir):
    (models_dir / "sub").mkdir(exist_ok=True)

    resolved = resolve_model_path("sub/../kept.gguf", models_dir)

    assert resolved == (models_dir / "kept.gguf").resolve()


def test_refusal_is_a_value_error(models_dir):
    with pytest.raises(ValueError):
        resolve_model_path("../x.gguf", models_dir)
