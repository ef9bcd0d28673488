"""Saved prompts: who sees which, the size limits, the owner's page and the `/` list's JSON."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client, TestCase

from webui.chat import saved_prompts
from webui.chat.models import SavedPrompt
from webui.chat.saved_prompts import PromptRejected, parts_of, variables_of


def _user(name: str):
    return get_user_model().objects.create_user(name)


def test_variables_are_named_once_in_order_of_first_use():
    text = "Dear {{ name }}, about {{topic}}: {{name}} {{not a var}} {x}"
    assert variables_of(text) == ["name", "topic"]


def test_parts_rebuild_the_text_with_variables_apart():
    parts = parts_of("Hi {{who}}!{{who}}")
    assert parts == [{"text": "Hi "}, {"variable": "who"}, {"text": "!"}, {"variable": "who"}]
    assert parts_of("plain") == [{"text": "plain"}]


class PromptVisibilityTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice, cls.bob, cls.carol = _user("alice"), _user("bob"), _user("carol")
        cls.team = Group.objects.create(name="team")
        cls.other = Group.objects.create(name="other")
        cls.alice.groups.add(cls.team, cls.other)
        cls.bob.groups.add(cls.team)
        cls.mine = saved_prompts.prompt_create(owner=cls.alice, title="Mine", text="x")
        cls.shared = saved_prompts.prompt_create(
            owner=cls.alice, title="Shared", text="y", groups=[str(cls.team.pk)]
        )

    def test_a_member_sees_their_own_and_those_shared_with_their_groups(self):
        assert list(saved_prompts.prompts_for(user=self.alice)) == [self.mine, self.shared]
        assert list(saved_prompts.prompts_for(user=self.bob)) == [self.shared]
        assert list(saved_prompts.prompts_for(user=self.carol)) == []

    def test_a_prompt_shared_with_two_of_the_readers_groups_is_listed_once(self):
        self.bob.groups.add(self.other)
        self.shared.groups.add(self.other)
        assert list(saved_prompts.prompts_for(user=self.bob)) == [self.shared]

    def test_only_groups_the_owner_is_in_can_be_chosen(self):
        elsewhere = Group.objects.create(name="elsewhere")
        with self.assertRaisesMessage(PromptRejected, "only with groups you are in"):
            saved_prompts.prompt_create(
                owner=self.alice, title="t", text="t", groups=[str(elsewhere.pk)]
            )
        with self.assertRaisesMessage(PromptRejected, "only with groups you are in"):
            saved_prompts.prompt_create(owner=self.alice, title="t", text="t", groups=["x"])

    def test_the_sizes_are_limited(self):
        cases = [
            ("", "text", "needs a title"),
            ("t" * 101, "text", "up to 100 characters"),
            ("t", "  ", "needs a text"),
            ("t", "x" * 8001, "up to 8,000 characters (this one has 8,001)"),
            ("t", " ".join(f"{{{{v{i}}}}}" for i in range(21)), "up to 20 variables"),
        ]
        for title, text, message in cases:
            with self.subTest(message), self.assertRaisesMessage(PromptRejected, message):
                saved_prompts.prompt_create(owner=self.carol, title=title, text=text)
        saved_prompts.prompt_create(owner=self.carol, title="t" * 100, text="x" * 8000)

    def test_a_member_keeps_at_most_200_prompts(self):
        SavedPrompt.objects.bulk_create(
            SavedPrompt(owner=self.carol, title=f"p{i}", text="x") for i in range(199)
        )
        saved_prompts.prompt_create(owner=self.carol, title="the 200th", text="x")
        with self.assertRaisesMessage(PromptRejected, "You have 200 saved prompts"):
            saved_prompts.prompt_create(owner=self.carol, title="one more", text="x")
        assert SavedPrompt.objects.filter(owner=self.carol).count() == 200


class PromptPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice, cls.bob = _user("alice"), _user("bob")
        cls.team = Group.objects.create(name="team")
        cls.alice.groups.add(cls.team)
        cls.bob.groups.add(cls.team)
        cls.prompt = saved_prompts.prompt_create(
            owner=cls.alice,
            title="<script>alert(1)</script>",
            text="Review {{file}} <img src=x onerror=alert(2)>",
            groups=[str(cls.team.pk)],
        )

    def _client(self, user, **kwargs) -> Client:
        client = Client(**kwargs)
        client.force_login(user)
        return client

    def test_the_page_lists_prompts_as_inert_text(self):
        body = self._client(self.alice).get("/prompts/").content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "<script>alert(1)" not in body and "<img src=x" not in body
        assert f'action="/prompts/{self.prompt.pk}/delete/"' in body
        assert 'data-confirm="Delete the prompt' in body

    def test_creating_editing_and_deleting_are_the_owners(self):
        client = self._client(self.alice)
        response = client.post(
            "/prompts/", {"title": "Translate", "text": "Into {{lang}}", "groups": [self.team.pk]}
        )
        assert response.status_code == 302
        made = SavedPrompt.objects.get(title="Translate")
        assert list(made.groups.all()) == [self.team]
        form = client.get(f"/prompts/{made.pk}/").content.decode()
        assert f'value="{self.team.pk}" checked' in form and "Into {{lang}}</textarea>" in form
        client.post(f"/prompts/{made.pk}/", {"title": "Translate!", "text": "To {{lang}}"})
        made.refresh_from_db()
        assert (made.title, made.text, made.groups.count()) == ("Translate!", "To {{lang}}", 0)
        client.post(f"/prompts/{made.pk}/delete/")
        assert not SavedPrompt.objects.filter(pk=made.pk).exists()

    def test_a_group_member_uses_a_shared_prompt_but_cannot_change_it(self):
        bob = self._client(self.bob)
        assert bob.get(f"/prompts/{self.prompt.pk}/").status_code == 404
        response = bob.post(f"/prompts/{self.prompt.pk}/", {"title": "bob's", "text": "bob"})
        assert response.status_code == 404
        assert bob.post(f"/prompts/{self.prompt.pk}/delete/").status_code == 404
        self.prompt.refresh_from_db()
        assert self.prompt.title == "<script>alert(1)</script>"
        assert "shared by alice" in bob.get("/prompts/").content.decode()

    def test_a_refused_prompt_comes_back_with_the_reason_and_the_typed_words(self):
        response = self._client(self.bob).post("/prompts/", {"title": "", "text": "kept words"})
        assert response.status_code == 400
        body = response.content.decode()
        assert "A prompt needs a title." in body and "kept words" in body

    def test_every_form_needs_the_csrf_token(self):
        client = self._client(self.alice, enforce_csrf_checks=True)
        for path in (
            "/prompts/",
            f"/prompts/{self.prompt.pk}/",
            f"/prompts/{self.prompt.pk}/delete/",
        ):
            assert client.post(path, {"title": "t", "text": "t"}).status_code == 403, path
        assert SavedPrompt.objects.count() == 1

    def test_the_menu_gives_the_text_in_parts_and_who_shared_it(self):
        data = self._client(self.bob).get("/prompts/menu.json").json()
        assert data["manage_url"] == "/prompts/"
        [entry] = data["prompts"]
        assert entry["title"] == "<script>alert(1)</script>"
        assert entry["shared_by"] == "alice" and entry["variables"] == ["file"]
        assert entry["parts"][1] == {"variable": "file"}
        mine = self._client(self.alice).get("/prompts/menu.json").json()["prompts"][0]
        assert mine["shared_by"] == ""


@pytest.mark.django_db
def test_staff_see_whose_prompt_but_not_its_words_and_cannot_add_or_change(admin_client):
    owner = _user("dora")
    prompt = saved_prompts.prompt_create(owner=owner, title="private title", text="secret words")
    listing = admin_client.get("/admin/chat/savedprompt/").content.decode()
    assert f"Saved prompt {prompt.pk}" in listing and "dora" in listing
    assert "private title" not in listing and "secret words" not in listing
    page = admin_client.get(f"/admin/chat/savedprompt/{prompt.pk}/change/")
    assert page.status_code == 200 and b"secret words" not in page.content
    assert admin_client.get("/admin/chat/savedprompt/add/").status_code == 403
    admin_client.post(f"/admin/chat/savedprompt/{prompt.pk}/change/", {"owner": 1})
    prompt.refresh_from_db()
    assert prompt.text == "secret words"
