"""Team tests: the sign-up policy, rows for models, and a staff member."""

import pytest
from django.contrib.auth import get_user_model

from webui.registry.bundled import bundled_model_path
from webui.registry.models import LLMModel
from webui.team.models import TeamSettings


@pytest.fixture
def policy(db):
    """Set the sign-up policy as an admin would."""

    def set_policy(value: str) -> TeamSettings:
        settings_row = TeamSettings.current()
        settings_row.signup_policy = value
        settings_row.save()
        return settings_row

    return set_policy


@pytest.fixture
def idle_model(db):
    """A model no worker serves, made without reading its GGUF file."""
    return LLMModel.objects.create(
        name="Team idle", slug="team-idle", path=bundled_model_path(), is_default=True
    )


@pytest.fixture
def second_model(db):
    return LLMModel.objects.create(
        name="Team restricted", slug="team-restricted", path=bundled_model_path()
    )


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "manager", password="pw-manager-12345", is_staff=True
    )


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", password="pw-root-12345")
