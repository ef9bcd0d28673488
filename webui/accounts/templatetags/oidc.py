"""The "Sign in with <provider>" button, on the log-in and sign-up pages when it is set up."""

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from webui.accounts import oidc_config

register = template.Library()


@register.inclusion_tag("registration/_oidc_sign_in.html")
def oidc_sign_in(next_url: str = "", invite: str = "") -> dict:
    if not oidc_config.configured():
        return {"url": ""}
    query = urlencode(
        {key: value for key, value in (("next", next_url), ("invite", invite)) if value}
    )
    url = reverse("oidc_login") + (f"?{query}" if query else "")
    return {"url": url, "name": oidc_config.provider_name()}
