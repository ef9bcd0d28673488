"""The policy checks are read once per change of the team's policy, never past a change:
in this process, in another process (a live server) and with Redis away."""

import httpx
import pytest
import redis
from django.contrib.auth.models import Group

from tests.streams import make_user
from webui.api.models import ApiKey
from webui.chat import standing
from webui.core.redis import client as redis_client
from webui.core.redis import keys
from webui.team import access, gate, limits, policy_cache, signup
from webui.team.models import Limit, Membership, ModelAccess


@pytest.mark.django_db
def test_a_second_check_reads_no_policy_from_the_database(bundled_model, django_assert_num_queries):
    alice = make_user("alice")
    Limit.objects.create(user=alice, max_active=3)
    standing.check_send(user=alice, model=bundled_model)
    # Only the count of her answers in progress, which no cache may keep.
    with django_assert_num_queries(1):
        standing.check_send(user=alice, model=bundled_model)


@pytest.mark.django_db
def test_a_question_s_checks_read_the_version_from_redis_once(bundled_model, monkeypatch):
    alice = make_user("alice")
    Limit.objects.create(user=alice, max_active=3)
    standing.check_send(user=alice, model=bundled_model)
    real, reads = redis_client(), []

    class Counting:
        def get(self, key):
            reads.append(key)
            return real.get(key)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(policy_cache, "client", Counting)
    standing.check_send(user=alice, model=bundled_model)  # pending, model, allowance
    assert reads == [keys.POLICY_VERSION]
    # Outside a question's checks, each reads it: a change between two is seen.
    access.may_use(alice, bundled_model)
    limits.allowance_for(alice)
    assert len(reads) == 3


@pytest.mark.django_db
def test_every_change_the_checks_depend_on_is_seen_at_once(bundled_model):
    alice = make_user("alice")
    assert access.may_use(alice, bundled_model) and not access.is_pending(alice)
    assert limits.allowance_for(alice).unlimited

    staff = Group.objects.create(name="staff")
    rule = ModelAccess.objects.create(model=bundled_model, group=staff)
    assert not access.may_use(alice, bundled_model), "a rule that leaves her out"
    alice.groups.add(staff)
    assert access.may_use(alice, bundled_model), "her new group opens it"
    alice.groups.remove(staff)
    assert not access.may_use(alice, bundled_model)
    rule.delete()
    assert access.may_use(alice, bundled_model)
    bundled_model.enabled = False
    bundled_model.save()
    assert not access.may_use(alice, bundled_model), "a disabled model"
    bundled_model.enabled = True
    bundled_model.save()

    limit = Limit.objects.create(tokens_per_day=10)
    assert limits.allowance_for(alice).tokens_per_day == 10
    limit.tokens_per_day = 20
    limit.save()
    assert limits.allowance_for(alice).tokens_per_day == 20
    limit.delete()
    assert limits.allowance_for(alice).unlimited

    membership = Membership.objects.create(user=alice, status=Membership.Status.PENDING)
    assert access.is_pending(alice)
    with pytest.raises(gate.Refused):
        gate.check_access(user=alice, model=bundled_model)
    signup.approve(Membership.objects.filter(pk=membership.pk), by=None)  # an update
    assert not access.is_pending(alice)


@pytest.mark.django_db
def test_another_process_s_change_is_seen_through_redis(bundled_model):
    alice = make_user("alice")
    staff = Group.objects.create(name="staff")
    assert access.may_use(alice, bundled_model)
    # What another process's change does: a row changed without this process's signals,
    # and a new version in Redis.
    ModelAccess.objects.bulk_create([ModelAccess(model=bundled_model, group=staff)])
    assert access.may_use(alice, bundled_model), "kept: nothing said it changed"
    redis_client().set(keys.POLICY_VERSION, "another process's change")
    assert not access.may_use(alice, bundled_model)


@pytest.mark.django_db
def test_without_redis_nothing_is_kept(bundled_model, monkeypatch):
    alice = make_user("alice")

    def away():
        raise redis.ConnectionError("Redis is away")

    monkeypatch.setattr(policy_cache, "client", away)
    assert access.may_use(alice, bundled_model)
    staff = Group.objects.create(name="staff")
    ModelAccess.objects.bulk_create([ModelAccess(model=bundled_model, group=staff)])
    assert not access.may_use(alice, bundled_model)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_live_server_refuses_as_soon_as_an_admin_closes_the_model(
    asgi_server, live_worker, bundled_model
):
    alice = make_user("alice")
    _, raw = ApiKey.issue(user=alice, name="k")
    ask = {
        "model": bundled_model.slug,
        "messages": [{"role": "user", "content": "Say hi."}],
        "max_tokens": 4,
    }
    with httpx.Client(base_url=asgi_server, headers={"Authorization": f"Bearer {raw}"}) as api:
        assert api.post("/v1/chat/completions", json=ask, timeout=60).status_code == 200
        # The admin keeps the model for a group she is not in: her next request is refused.
        ModelAccess.objects.create(model=bundled_model, group=Group.objects.create(name="staff"))
        refused = api.post("/v1/chat/completions", json=ask, timeout=60)
        assert refused.status_code == 404, refused.text
        Limit.objects.create(user=alice, requests_per_minute=1)
        alice.groups.add(Group.objects.get(name="staff"))
        limited = api.post("/v1/chat/completions", json=ask, timeout=60)
        assert limited.status_code == 429, limited.text
