"""System checks: the libraries whose internals Homefire uses are the versions it was
written against (webui.core.wire)."""

from django.core import checks

from webui.core import wire


@checks.register()
def wire_formats_match_installed_libraries(app_configs=None, **kwargs) -> list:
    """An upgrade of such a library must come with a look at the module that uses it."""
    errors = []
    for name, installed in wire.installed_versions().items():
        expected = wire.WRITTEN_FOR[name]
        if installed != expected:
            errors.append(
                checks.Error(
                    f"{name} {installed} is installed; {wire.USED_IN[name]} uses its "
                    f"internals as of {expected}.",
                    hint=f"Check {wire.USED_IN[name]} against the new version, run its "
                    "tests, then update WRITTEN_FOR in webui/core/wire.py.",
                    id="homefire.E001",
                )
            )
    return errors
