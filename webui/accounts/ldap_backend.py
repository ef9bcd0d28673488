"""Sign-in with the office's directory (OpenLDAP, Active Directory), by django-python3-ldap.

The library binds to the directory as the member (the bind name from
HOMEFIRE_LDAP_USER_DN: a DN template, or user@domain for Active Directory), reads the
member's entry (as the bind account, when one is set) and keeps a Django account in step
with it. The hooks here, named in its settings (webui.accounts.ldap_config), add what
Homefire needs on every sign-in, inside one transaction that a refusal undoes whole:

- the account is linked to its entry (Membership.sign_in_method "ldap", external_id the
  DN); a local account with the same username is never taken over;
- the member's directory groups (HOMEFIRE_LDAP_GROUP_SEARCH_BASE) are mapped to Django
  groups (HOMEFIRE_LDAP_GROUP_MAP), which open models and set limits;
- HOMEFIRE_LDAP_REQUIRE_GROUP, when set, refuses anyone outside that directory group.

The log-in form counts every attempt in the log-in throttle (webui.team.throttle) before
any backend runs, so directory passwords are throttled as local ones are.
"""

import logging
import re

import ldap3
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django_python3_ldap import ldap as directory
from django_python3_ldap.auth import LDAPBackend
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from webui.accounts.group_mapping import follow_groups
from webui.team.models import Membership, SignInMethod

log = logging.getLogger(__name__)

# What a directory username may hold: letters, digits and . _ - @ (no filter or DN syntax,
# so nothing typed on the log-in page can change a search or a bind name).
USERNAME = re.compile(r"^[\w.@-]{1,150}$")


class DirectoryBackend(LDAPBackend):
    """Checks a username and password against the directory; None lets the next backend try."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or not password or not USERNAME.fullmatch(username):
            return None
        if _local_account_named(username):
            return None  # the local account's own password decides (ModelBackend)
        try:
            with transaction.atomic():
                user = directory.authenticate(username=username, password=password)
        except PermissionDenied as exc:
            log.info("directory sign-in of %r refused: %s", username, exc)
            raise
        except LDAPException as exc:
            # The library logs a failed bind itself, but its closing unbind on a broken
            # connection (a TLS failure) raises: the directory is unreachable, not an error
            # page. Local accounts still sign in.
            log.warning("directory unreachable for the sign-in of %r: %s", username, exc)
            return None
        return user if user is not None and self.user_can_authenticate(user) else None

    async def aauthenticate(self, request, username=None, password=None, **kwargs):
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.authenticate)(request, username, password, **kwargs)


def _local_account_named(username: str) -> bool:
    """An account of this name that is not linked to the directory: a local one, kept so."""
    return (
        get_user_model()
        .objects.filter(username__iexact=username)
        .exclude(membership__sign_in_method=SignInMethod.LDAP)
        .exists()
    )


def bind_name(fields: dict) -> str:
    """The name to bind with: the bind account's DN as it is, else the member's from
    HOMEFIRE_LDAP_USER_DN ("uid={username},ou=people,dc=example,dc=org", or
    "{username}@corp.example.com" for Active Directory)."""
    name = fields["username"]
    if name == settings.HOMEFIRE_LDAP["BIND_DN"]:
        return name
    return settings.HOMEFIRE_LDAP["USER_DN"].format(username=escape_rdn(name))


def clean_user_data(fields: dict) -> dict:
    """The account's fields from the entry, cut to the lengths Django keeps."""
    limits = {"username": 150, "first_name": 150, "last_name": 150, "email": 254}
    return {
        name: str(value).strip()[: limits.get(name, 150)]
        for name, value in fields.items()
        if value is not None
    }


def sync_user_relations(user, attributes, *, connection=None, dn=None) -> None:
    """Link the account to its entry, check the required group, map the groups."""
    ldap = settings.HOMEFIRE_LDAP
    if not dn:
        raise PermissionDenied("the directory gave no DN for this entry")
    groups = _directory_groups(connection, dn) if ldap["GROUP_SEARCH_BASE"] else set()
    required = ldap["REQUIRE_GROUP"]
    if required and required.lower() not in groups:
        raise PermissionDenied(f"not a member of the directory group {required!r}")
    _link(user, dn)
    _map_groups(user, groups, ldap["GROUP_MAP"])


def _directory_groups(connection, dn: str) -> set[str]:
    """The names (cn) of the directory groups that list this DN as a member, lower-cased."""
    escaped = escape_filter_chars(dn)
    connection.search(
        search_base=settings.HOMEFIRE_LDAP["GROUP_SEARCH_BASE"],
        search_filter=f"(|(member={escaped})(uniqueMember={escaped}))",
        search_scope=ldap3.SUBTREE,
        attributes=["cn"],
    )
    names = set()
    for entry in connection.response or []:
        for name in (entry.get("attributes") or {}).get("cn") or []:
            names.add(str(name).lower())
    return names


def _link(user, dn: str) -> None:
    """Mark the account as the directory's, for this entry (a first sign-in makes it)."""
    membership, _ = Membership.objects.get_or_create(user=user)
    if membership.sign_in_method not in (SignInMethod.LDAP, SignInMethod.LOCAL):
        raise PermissionDenied("this account signs in another way")
    if membership.sign_in_method == SignInMethod.LOCAL and user.has_usable_password():
        raise PermissionDenied("a local account has this username")
    if (membership.sign_in_method, membership.external_id) != (SignInMethod.LDAP, dn):
        membership.sign_in_method, membership.external_id = SignInMethod.LDAP, dn
        membership.save(update_fields=["sign_in_method", "external_id"])


def _map_groups(user, groups: set[str], mapping: dict[str, str]) -> None:
    """Put the account in the Django groups its directory groups map to, and out of the
    mapped ones they no longer do; groups outside the mapping (set in admin) stay."""
    wanted = {django for ldap_name, django in mapping.items() if ldap_name.lower() in groups}
    follow_groups(user, wanted, set(mapping.values()))
