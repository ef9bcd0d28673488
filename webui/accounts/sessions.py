"""A member's signed-in sessions: recorded at sign-in, seen at most once a minute, ended
from the Sessions page, which also closes their WebSockets.

Django keeps the sessions themselves; a SessionRecord says where and on what each was
opened. Records whose session ended some other way (expired, logged out elsewhere, a new
password) are dropped when the page lists them.
"""

import re
import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from webui.accounts.models import SessionRecord
from webui.chat import broadcast, events
from webui.core.client_address import client_address
from webui.team import audit
from webui.team.models import SignInMethod

SEEN_EVERY_SECONDS = 60
_METHOD = "sign_in_method"
_SEEN_AT = "seen_at"
_SEEN_KEY = "seen_key"  # the session key the record was last written for
_METHOD_WORDS = {
    SignInMethod.LOCAL: "password",
    SignInMethod.LDAP: "directory password",
    SignInMethod.OIDC: "identity provider",
}


def _store(session_key: str | None = None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def method_of_backend(backend: str) -> str:
    """The sign-in method a Django authentication backend stands for."""
    name = backend.lower()
    if "oidc" in name:
        return SignInMethod.OIDC
    if "ldap" in name:
        return SignInMethod.LDAP
    return SignInMethod.LOCAL


def method_label(method: str) -> str:
    return SignInMethod(method).label if method in SignInMethod.values else method


def _user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:300]


def _address(request) -> str | None:
    return client_address(request) or None


def record_sign_in(sender, request, user, **kwargs) -> None:
    """user_logged_in: note the new session, and the sign-in in the audit log."""
    if request is None or not hasattr(request, "session"):
        return
    if request.session.session_key is None:
        # Signing in over another account's session flushes it: the new one has no key
        # until saved, and the record needs it now.
        request.session.save()
    method = method_of_backend(request.session.get(BACKEND_SESSION_KEY, ""))
    request.session[_METHOD] = method
    request.session[_SEEN_AT] = time.time()
    request.session[_SEEN_KEY] = request.session.session_key
    SessionRecord.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "user_agent": _user_agent(request),
            "address": _address(request),
            "sign_in_method": method,
        },
    )
    how = _METHOD_WORDS.get(method, method)
    if extra := getattr(request, "second_factor", ""):
        how = f"{how} + {extra}"
    audit.record(actor=user, action=f"signed in: {how}", target=_address(request) or "")


def forget_sign_out(sender, request, user, **kwargs) -> None:
    """user_logged_out: the session is over."""
    if request is not None and (key := request.session.session_key):
        SessionRecord.objects.filter(session_key=key).delete()


def touch(request) -> None:
    """Note that this session was seen now, at most once a minute (one UPDATE)."""
    now, key = time.time(), request.session.session_key
    seen = request.session.get(_SEEN_AT)
    same_key = request.session.get(_SEEN_KEY) == key  # not since a new key (new password)
    if same_key and isinstance(seen, float) and now - seen < SEEN_EVERY_SECONDS:
        return
    request.session[_SEEN_AT], request.session[_SEEN_KEY] = now, key
    changed = SessionRecord.objects.filter(session_key=key, user=request.user).update(
        last_seen=timezone.now(), address=_address(request)
    )
    if not changed and key:
        # A session older than its record (a new session key after a password change, or
        # one opened before records were kept): it is listed from now on.
        SessionRecord.objects.update_or_create(
            session_key=key,
            defaults={
                "user": request.user,
                "user_agent": _user_agent(request),
                "address": _address(request),
                "sign_in_method": request.session.get(_METHOD, SignInMethod.LOCAL),
            },
        )


def _signs_in(record: SessionRecord, user) -> bool:
    data = _store(record.session_key).load()  # {} when gone or expired
    return data.get(SESSION_KEY) == str(user.pk) and constant_time_compare(
        data.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()
    )


def active_sessions(user) -> list[SessionRecord]:
    """The account's sessions that still sign it in, last seen first."""
    records = list(SessionRecord.objects.filter(user=user))
    ended = [record.pk for record in records if not _signs_in(record, user)]
    if ended:
        SessionRecord.objects.filter(pk__in=ended).delete()
    return [record for record in records if record.pk not in ended]


def session_end(*, record: SessionRecord) -> None:
    """End the session: its next page goes to log in, its sockets close now."""
    key = record.session_key
    _store(key).delete()
    record.delete()
    transaction.on_commit(
        lambda: broadcast.to_group(events.session_group(key), events.session_closed(), wait=False)
    )


@transaction.atomic
def sessions_end_others(*, request) -> int:
    """Sign out every other session of this account; the number ended."""
    current = request.session.session_key
    others = [r for r in active_sessions(request.user) if r.session_key != current]
    for record in others:
        session_end(record=record)
    audit.record(
        actor=request.user, action="signed out everywhere else", target=f"{len(others)} session(s)"
    )
    return len(others)


_BROWSERS = [
    ("Edge", r"Edg/"),
    ("Opera", r"OPR/"),
    ("Firefox", r"Firefox/"),
    ("Chrome", r"Chrom(e|ium)/"),
    ("Safari", r"Safari/"),
]
_SYSTEMS = [
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Android", r"Android"),
    ("Windows", r"Windows"),
    ("ChromeOS", r"CrOS"),
    ("macOS", r"Macintosh|Mac OS X"),
    ("Linux", r"Linux|X11"),
]


def device_text(user_agent: str) -> str:
    """ "Firefox on Windows" from a User-Agent header; its start for anything else."""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, user_agent)), "")
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, user_agent)), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (user_agent[:60] or "Unknown device")
