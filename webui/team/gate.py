"""The one place that decides whether an account may use Homefire, and send now.

Pages go through AccountGateMiddleware, the WebSocket through the consumer's connect,
the API through its key check, and every message (chat or API) through
webui.chat.standing.check_send, which asks check_access and check_standing.
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


def check_access(*, user, model: LLMModel) -> None:
    """Raise Refused unless this account may use Homefire and this model."""
    if text := account_refusal(user):
        raise Refused("pending", text)
    if not access.may_use(user, model):
        raise Refused(
            "model", f"You do not have access to the model “{model.name}”. Choose another one."
        )


def check_standing(standing: limits.Standing) -> None:
    """Raise Refused when one more message would go past one of the user's limits."""
    try:
        limits.check(standing)
    except limits.LimitReached as exc:
        raise Refused("limit", str(exc), exc.retry_after) from None
