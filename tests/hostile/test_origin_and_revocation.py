"""The conversation socket: who may open it (origin), and how long it stays open (revocation)."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client

from tests.hostile.tally import tried
from webui.asgi import application
from webui.chat.models import Conversation
from webui.team.models import Membership

pytestmark = [pytest.mark.hostile, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-alice-12345"
# Generous: the event crosses Redis, and the machine is shared with other test runs.
CLOSE_SECONDS = 10


@pytest.fixture
def alice(quick_model):
    user = get_user_model().objects.create_user("alice", password=PASSWORD)
    conversation = Conversation.objects.create(owner=user, model=quick_model)
    return user, conversation


def _socket(conversation, cookie: str, *, host: str, origin: str | None, **headers: str):
    sent = [(b"host", host.encode()), (b"cookie", f"sessionid={cookie}".encode())]
    if origin is not None:
        sent.append((b"origin", origin.encode()))
    sent += [(name.encode(), value.encode()) for name, value in headers.items()]
    return WebsocketCommunicator(application, f"/ws/conversations/{conversation.pk}/", sent)


async def _opens(comm) -> bool:
    connected, _ = await comm.connect()
    if connected:
        await comm.disconnect()
    return connected


async def _session(user, password: str | None = None) -> AsyncClient:
    client = AsyncClient()
    if password is None:
        await client.aforce_login(user)
    else:
        assert await client.alogin(username=user.username, password=password)
    return client


# Origin: scheme, host and port, by Django's CSRF rule.


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:9999",  # another web app on the same host
        "http://localhost",  # the same host on port 80
        "https://localhost:8000",  # the same host and port, another scheme
        "ws://localhost:8000",
        "http://localhost:8000.evil.example",
        "http://evil.example:8000",
        "null",
        "",
    ],
)
async def test_a_page_from_another_origin_on_the_same_host_is_refused(alice, origin):
    user, conversation = alice
    cookie = (await _session(user)).cookies["sessionid"].value
    comm = _socket(conversation, cookie, host="localhost:8000", origin=origin)
    tried("cross-site")
    assert not await _opens(comm), origin


async def test_the_sites_own_origin_is_accepted(alice):
    user, conversation = alice
    cookie = (await _session(user)).cookies["sessionid"].value
    for host in ("localhost:8000", "127.0.0.1:8000", "localhost"):
        comm = _socket(conversation, cookie, host=host, origin=f"http://{host}")
        assert await _opens(comm), host
    # A Host the site does not answer to is refused, whatever the Origin says.
    comm = _socket(conversation, cookie, host="evil.example", origin="http://evil.example")
    tried("cross-site")
    assert not await _opens(comm)


async def test_a_trusted_origin_is_accepted(alice, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com", "https://*.example.org"]
    user, conversation = alice
    cookie = (await _session(user)).cookies["sessionid"].value
    for origin, opens in [
        ("https://chat.example.com", True),
        ("https://team.example.org", True),
        ("http://chat.example.com", False),
        ("https://chat.example.com:8443", False),
        ("https://team.example.org:8443", False),
        ("https://example.com", False),
    ]:
        comm = _socket(conversation, cookie, host="localhost:8000", origin=origin)
        tried("cross-site")
        assert await _opens(comm) is opens, origin


async def test_behind_a_tls_proxy_the_origin_is_https(alice, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    user, conversation = alice
    cookie = (await _session(user)).cookies["sessionid"].value
    proxied = {"x-forwarded-proto": "https"}
    host = "localhost:8443"
    assert await _opens(
        _socket(conversation, cookie, host=host, origin=f"https://{host}", **proxied)
    )
    tried("cross-site", 2)
    assert not await _opens(
        _socket(conversation, cookie, host=host, origin=f"http://{host}", **proxied)
    )
    assert not await _opens(_socket(conversation, cookie, host=host, origin=f"https://{host}"))


# Revocation: the account's other sockets close, and say why.


async def _open_socket(conversation, client: AsyncClient):
    cookie = client.cookies["sessionid"].value
    comm = _socket(conversation, cookie, host="localhost", origin="http://localhost")
    assert (await comm.connect())[0]
    return comm


async def _admin() -> Client:
    """A signed-in superuser's client, for the admin's forms."""
    root = await sync_to_async(get_user_model().objects.create_superuser)("root")
    admin = Client()
    await sync_to_async(admin.force_login)(root)
    return admin


async def _closed_with(comm) -> int:
    """The close code the socket gets (a timeout fails the test when it stays open)."""
    while (output := await comm.receive_output(timeout=CLOSE_SECONDS))["type"] != "websocket.close":
        pass
    return output.get("code")


async def test_a_password_change_in_another_session_closes_the_socket(alice):
    user, conversation = alice
    session_a, session_b = await _session(user, PASSWORD), await _session(user, PASSWORD)
    comm = await _open_socket(conversation, session_a)
    changed = await session_b.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "n3w-Pass-phrase",
            "new_password2": "n3w-Pass-phrase",
        },
    )
    assert changed.status_code == 302
    tried("access")
    assert await _closed_with(comm) == 4401
    # Over HTTP too, as Django does: A is signed out, B (where it changed) is not.
    assert (await session_a.get("/")).status_code == 302
    assert (await session_b.get("/")).status_code == 200


async def test_an_admin_deactivating_the_account_closes_its_sockets(alice):
    user, conversation = alice
    comm = await _open_socket(conversation, await _session(user))
    admin = await _admin()
    form = {
        "username": "alice",
        "date_joined_0": "2024-01-01",
        "date_joined_1": "00:00:00",
        # is_active left out: the box unticked
    }
    response = await sync_to_async(admin.post)(f"/admin/auth/user/{user.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    assert not (await get_user_model().objects.aget(pk=user.pk)).is_active
    tried("access")
    assert await _closed_with(comm) == 4401


async def test_an_admin_deleting_the_account_closes_its_sockets(alice):
    user, conversation = alice
    comm = await _open_socket(conversation, await _session(user))
    admin = await _admin()
    response = await sync_to_async(admin.post)(
        f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    tried("access")
    assert await _closed_with(comm) == 4401


async def test_deleting_ones_own_account_closes_the_other_sessions_sockets(alice):
    user, conversation = alice
    comm = await _open_socket(conversation, await _session(user))
    other = await _session(user, PASSWORD)
    response = await other.post("/team/account/delete/", {"password": PASSWORD})
    assert response.status_code == 200
    assert not await get_user_model().objects.filter(pk=user.pk).aexists()
    tried("access")
    assert await _closed_with(comm) == 4401


async def test_an_admin_putting_the_account_back_to_pending_closes_its_sockets(alice):
    user, conversation = alice
    membership, _ = await Membership.objects.aget_or_create(user=user)
    comm = await _open_socket(conversation, await _session(user))
    admin = await _admin()
    response = await sync_to_async(admin.post)(
        f"/admin/team/membership/{membership.pk}/change/", {"status": "pending"}
    )
    assert response.status_code == 302
    tried("access")
    assert await _closed_with(comm) == 4403


async def test_a_change_that_revokes_nothing_leaves_the_socket_open(alice):
    user, conversation = alice
    comm = await _open_socket(conversation, await _session(user))
    user.first_name = "Alice"
    await user.asave()
    assert await comm.receive_nothing(timeout=3)
    await comm.disconnect()
