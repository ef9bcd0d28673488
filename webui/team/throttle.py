"""Password-guessing throttle, by account and by address, kept in Redis.

Every password check (log-in, the admin's log-in, changing one's password, deleting
one's account) is counted before it runs, in one atomic round trip; a check over the
limit is refused without looking at the password, so guesses sent together cannot all
slip in before the first has failed. A check that passes gives its count back and
clears the account's. Counts live for a window (15 minutes by default) that starts at
the first and then expires on its own, so the real user is never locked out for long.
"""

import contextlib
import ipaddress
import logging
import math
from collections.abc import Iterator

import redis
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm

from webui.core.client_address import client_address
from webui.core.redis import client
from webui.core.redis import keys as redis_keys

logger = logging.getLogger(__name__)

# Takes one count back from each key that still exists (one that expired meanwhile
# stays gone rather than coming back at -1 with no expiry); a count back at 0 goes.
_GIVE_BACK = """
for _, key in ipairs(KEYS) do
    if redis.call('EXISTS', key) == 1 and redis.call('DECR', key) <= 0 then
        redis.call('DEL', key)
    end
end
"""


def _address_bucket(address: str) -> str:
    """An IPv6 client holds a whole /64, so that is what one address means."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return address


def _counters(username: str, address: str) -> list[tuple[str, str, int]]:
    """(Redis key, what it counts, limit) for the address, then the account."""
    conf = settings.HOMEFIRE
    counters = []
    if address:
        bucket = _address_bucket(address)
        key = redis_keys.login_failures("address", bucket)
        counters.append((key, f"address {bucket}", conf["LOGIN_FAILURES_PER_ADDRESS"]))
    if account := username.strip().lower():
        key = redis_keys.login_failures("account", account)
        counters.append((key, f"account {account}", conf["LOGIN_FAILURES_PER_ACCOUNT"]))
    return counters


def admit(username: str, address: str) -> int:
    """Count one password check before it runs: 0 to go ahead, else seconds to wait."""
    counters = _counters(username, address)
    window = settings.HOMEFIRE["LOGIN_THROTTLE_SECONDS"]
    try:
        pipe = client().pipeline()  # MULTI/EXEC: atomic, one round trip
        for key, _what, _limit in counters:
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
            pipe.ttl(key)
        answers = pipe.execute()
    except redis.RedisError:
        return 0  # without Redis, logging in still works
    wait, under = 0, []
    for index, (key, what, limit) in enumerate(counters):
        count, _, ttl = answers[3 * index : 3 * index + 3]
        if count <= limit:
            under.append(key)
            continue
        wait = max(wait, ttl if ttl > 0 else 1)
        if count == limit + 1:  # once a window, not once a guess
            logger.warning("Password checks paused for %s: too many failed", what)
    if wait:
        # A refused check is never made: it must not count against the other key (a
        # colleague's account behind an address that is paused).
        _give_back(under)
    return wait


def passed(username: str, address: str) -> None:
    """The password was right: clear the account's count, give the address its one back."""
    counters = _counters(username, address)
    accounts = [key for key, what, _limit in counters if what.startswith("account ")]
    with contextlib.suppress(redis.RedisError):
        if accounts:
            client().delete(*accounts)
    _give_back([key for key, _what, _limit in counters if key not in accounts])


def _give_back(keys: list[str]) -> None:
    if keys:
        with contextlib.suppress(redis.RedisError):
            client().register_script(_GIVE_BACK)(keys=keys)


@contextlib.contextmanager
def password_check(username: str, address: str) -> Iterator[None]:
    """Around one password check: refused over the limit, counted if it fails."""
    if wait := admit(username, address):
        raise forms.ValidationError(wait_text(wait), code="throttled")
    yield
    passed(username, address)


def wait_text(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    unit = "minute" if minutes == 1 else "minutes"
    return (
        "Too many failed log-ins for this account or from this address. "
        f"Try again in {minutes} {unit}."
    )


class ThrottledLoginMixin:
    """For any AuthenticationForm: the password check goes through the throttle."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if not (username and self.cleaned_data.get("password")):
            return super().clean()  # no password is checked, so nothing to count
        with password_check(username, client_address(self.request)):
            return super().clean()


class ThrottledOldPasswordMixin:
    """For any PasswordChangeForm: checking the old password goes through the throttle.

    Pass `request=` to count by address too; the admin's own view passes only the user.
    """

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_old_password(self):
        with password_check(self.user.get_username(), client_address(self.request)):
            return super().clean_old_password()


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


def protect_admin_login() -> None:
    """The admin's log-in and password-change forms count and refuse the same way."""
    from django.contrib import admin
    from django.contrib.admin.forms import AdminAuthenticationForm, AdminPasswordChangeForm

    class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
        pass

    class ThrottledAdminPasswordChangeForm(ThrottledOldPasswordMixin, AdminPasswordChangeForm):
        pass

    admin.site.login_form = ThrottledAdminAuthenticationForm
    admin.site.password_change_form = ThrottledAdminPasswordChangeForm
