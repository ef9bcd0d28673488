"""Django groups that follow the directory's or the identity provider's groups."""

from django.contrib.auth.models import Group


def follow_groups(user, wanted: set[str], mapped: set[str]) -> None:
    """Put the account in the `wanted` groups and take it out of the other `mapped` ones;
    groups outside the mapping (set in admin) stay as they are. Missing groups are made."""
    current = set(user.groups.filter(name__in=mapped).values_list("name", flat=True))
    if stale := current - wanted:
        user.groups.remove(*Group.objects.filter(name__in=stale))
    if missing := wanted - current:
        user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in sorted(missing)))
