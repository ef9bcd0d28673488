"""Where the user stands against the team's limits, for the composer and the usage page."""

from django import template

from webui.chat.standing import standing_of

register = template.Library()


@register.inclusion_tag("team/_limits_note.html", takes_context=True)
def limits_note(context):
    """A short note in the composer once the user is near one of their limits."""
    user = context["request"].user
    if not user.is_authenticated:
        return {"standing": None}
    standing = standing_of(user)
    return {"standing": standing if standing.near_limit else None}


@register.simple_tag(takes_context=True)
def standing(context):
    """The signed-in user's standing: `{% standing as standing %}`."""
    return standing_of(context["request"].user)
