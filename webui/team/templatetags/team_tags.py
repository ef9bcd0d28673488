from django import template

from webui.team.limits import standing_of

register = template.Library()


@register.filter
def thousands(value) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return ""


@register.inclusion_tag("team/_limits_note.html", takes_context=True)
def limits_note(context):
    """A short note in the composer once the user is near one of their limits."""
    user = context["request"].user
    if not user.is_authenticated:
        return {"standing": None}
    standing = standing_of(user)
    return {"standing": standing if standing.near_limit else None}
