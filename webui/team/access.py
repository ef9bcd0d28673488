"""Who may use what: an account's standing and the models its groups open."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from webui.registry.models import LLMModel
from webui.team import policy_cache
from webui.team.models import Membership, ModelAccess

PENDING_TEXT = (
    "Your account is waiting for an admin's approval. You can use Homefire once it is approved."
)


def is_pending(user) -> bool:
    """True for an account that signed up under the approval policy and is not approved yet."""
    if not user.is_authenticated or user.is_superuser:
        return False
    # Lambdas: building a query costs more than running it, and a kept answer needs neither.
    return policy_cache.cached(
        ("pending", user.pk),
        lambda: Membership.objects.filter(user=user, status=Membership.Status.PENDING).exists(),
    )


def is_manager(user) -> bool:
    """Staff and superusers manage everything, whatever their groups."""
    return user.is_active and (user.is_staff or user.is_superuser)


def models_for(user, role: str | None = LLMModel.Role.CHAT) -> QuerySet[LLMModel]:
    """The enabled models this user may use: open ones, and those their groups open.

    `role`: chat models by default (what a conversation can use); None for every role.
    """
    enabled = LLMModel.objects.filter(enabled=True)
    if role is not None:
        enabled = enabled.filter(role=role)
    if is_manager(user):
        return enabled
    rules = ModelAccess.objects.filter(model=OuterRef("pk"))
    allowed = rules.filter(group__in=user.groups.all()) if user.is_authenticated else rules.none()
    return enabled.filter(Q(~Exists(rules)) | Q(Exists(allowed)))


def may_use(user, model: LLMModel) -> bool:
    # Keyed by what decides it: who the account is now (a manager, active) and the model.
    key = ("may use", user.pk, is_manager(user), model.pk)
    return policy_cache.cached(key, lambda: models_for(user).filter(pk=model.pk).exists())


def default_model_for(user) -> LLMModel | None:
    return models_for(user).order_by("-is_default", "name").first()


def staff_required(view):
    """Log-in first (strangers go to the log-in page), then staff only: others get a 404."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not is_manager(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped
