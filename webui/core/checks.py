"""System checks: the private formats in webui.core.wire match the installed libraries."""

from django.core import checks

from webui.core import wire


@checks.register()
def wire_formats_match_installed_libraries(app_configs=None, **kwargs) -> list:
    """An upgrade of channels-redis or kombu must come with a look at webui.core.wire."""
    errors = []
    for name, installed in wire.installed_versions().items():
        expected = wire.WRITTEN_FOR[name]
        if installed != expected:
            errors.append(
                checks.Error(
                    f"{name} {installed} is installed; webui/core/wire.py reads and writes "
                    f"its private formats as of {expected}.",
                    hint="Check each format in webui/core/wire.py against the new version, "
                    "run tests/webui/core/test_wire.py, then update WRITTEN_FOR.",
                    id="homefire.E001",
                )
            )
    return errors
