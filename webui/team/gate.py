"""The one place that decides whether an account may use Homefire, and send now.

Pages go through AccountGateMiddleware, the WebSocket through the consumer's connect,
the API through its key check, and every message (chat or API) through check_send.
"""

from webui.registry.models import LLMModel
from webui.team import access, limits


class Refused(Exception):
    """Not now: `kind` is pending, model or limit; the text is for the user."""

    def __init__(self, kind: str, text: str, retry_after: int | None = None):
        super().__init__(text)
        self.kind = kind
        self.retry_after = retry_after


def account_refusal(user) -> str | None:
    """Why this signed-in account may not use Homefire yet, or None when it may."""
    if access.is_pending(user):
        return access.PENDING_TEXT
    return None


def check_send(*, user, model: LLMModel) -> None:
    """Raise Refused unless this user may send one more message to this model now."""
    if text := account_refusal(user):
        raise Refused("pending", text)
    if not access.may_use(user, model):
        raise Refused(
            "model", f"You do not have access to the model “{model.name}”. Choose another one."
        )
    check_limits(user)


def check_limits(user) -> None:
    """Raise Refused when one more message would go past one of the user's limits.

    Part of check_send, for callers that already checked the account and the model (the
    API checks them when it reads the key and the model's name).
    """
    try:
        limits.check(user)
    except limits.LimitReached as exc:
        raise Refused("limit", str(exc), exc.retry_after) from None
