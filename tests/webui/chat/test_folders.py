"""Folders: made, renamed and deleted by their owner only, within limits; conversations
filed in them leave the day groups for their folder, archived ones stay under Archived,
and nobody files into someone else's folder or moves someone else's conversation."""

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext

from webui.chat import folders, selectors
from webui.chat.folders import FolderRejected
from webui.chat.models import Conversation, Folder


def _user(name: str):
    return get_user_model().objects.create_user(name)


def _sidebar_ids(user, archived: bool = False) -> list[int]:
    page = selectors.conversation_sidebar(user=user, archived=archived)
    return [c.pk for group in page.groups for c in group.conversations]


class FolderServiceTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice, cls.bob = _user("alice"), _user("bob")
        cls.work = folders.folder_create(owner=cls.alice, name="  Work   stuff ")
        cls.chat = Conversation.objects.create(owner=cls.alice, title="Budget")
        cls.other = Conversation.objects.create(owner=cls.alice, title="Cat names")

    def test_names_are_one_line_and_limited(self):
        assert self.work.name == "Work stuff"
        with self.assertRaisesMessage(FolderRejected, "Give the folder a name."):
            folders.folder_create(owner=self.alice, name=" \n ")
        with self.assertRaisesMessage(FolderRejected, "61 characters long; the limit is 60"):
            folders.folder_create(owner=self.alice, name="x" * 61)
        with self.assertRaisesMessage(
            FolderRejected, "You already have a folder named “Work stuff”"
        ):
            folders.folder_create(owner=self.alice, name="Work stuff")
        # Another member may use the same name.
        assert folders.folder_create(owner=self.bob, name="Work stuff").owner == self.bob

    def test_a_member_keeps_at_most_the_limit(self):
        Folder.objects.bulk_create(
            Folder(owner=self.alice, name=f"f{i}") for i in range(Folder.PER_MEMBER - 1)
        )
        with self.assertRaisesMessage(FolderRejected, "You have 100 folders"):
            folders.folder_create(owner=self.alice, name="one more")

    def test_renaming_to_a_taken_name_is_refused(self):
        home = folders.folder_create(owner=self.alice, name="Home")
        with self.assertRaisesMessage(FolderRejected, "already have a folder named “Work stuff”"):
            folders.folder_rename(folder=home, name="Work stuff")
        home.refresh_from_db()
        assert home.name == "Home"

    def test_a_filed_conversation_leaves_the_day_groups_for_its_folder(self):
        before = Conversation.objects.get(pk=self.chat.pk).updated_at
        folders.conversation_file(
            user=self.alice, conversation_id=self.chat.pk, folder_id=self.work.pk
        )
        assert _sidebar_ids(self.alice) == [self.other.pk]
        [view] = folders.folders_with_conversations(user=self.alice)
        assert [c.pk for c in view.conversations] == [self.chat.pk]
        # Filing is not activity: the conversation keeps its place by day.
        assert Conversation.objects.get(pk=self.chat.pk).updated_at == before

    def test_archived_conversations_stay_under_archived_and_return_to_their_folder(self):
        folders.conversation_file(
            user=self.alice, conversation_id=self.chat.pk, folder_id=self.work.pk
        )
        Conversation.objects.filter(pk=self.chat.pk).update(archived=True)
        assert folders.folders_with_conversations(user=self.alice)[0].conversations == []
        assert _sidebar_ids(self.alice, archived=True) == [self.chat.pk]
        Conversation.objects.filter(pk=self.chat.pk).update(archived=False)
        assert [
            c.pk for c in folders.folders_with_conversations(user=self.alice)[0].conversations
        ] == [self.chat.pk]

    def test_deleting_a_folder_keeps_its_conversations_unfiled(self):
        folders.conversation_file(
            user=self.alice, conversation_id=self.chat.pk, folder_id=self.work.pk
        )
        folders.folder_delete(folder=self.work)
        assert Conversation.objects.get(pk=self.chat.pk).folder_id is None
        assert sorted(_sidebar_ids(self.alice)) == sorted([self.chat.pk, self.other.pk])

    def test_a_folder_shows_its_first_conversations_and_says_there_are_more(self):
        many = Conversation.objects.bulk_create(
            Conversation(owner=self.alice, title=f"c{i}", folder=self.work)
            for i in range(folders.FOLDER_SHOWN + 1)
        )
        empty = folders.folder_create(owner=self.alice, name="Empty")
        with CaptureQueriesContext(connection) as queries:
            views = {v.folder.pk: v for v in folders.folders_with_conversations(user=self.alice)}
        assert len(queries) == 2  # the folders, and their first conversations
        assert len(views[self.work.pk].conversations) == folders.FOLDER_SHOWN
        assert views[self.work.pk].more
        assert views[empty.pk].conversations == [] and not views[empty.pk].more
        assert len(folders.folder_conversations(folder=self.work)) == len(many)


class FolderViewTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice, cls.bob = _user("alice"), _user("bob")
        cls.folder = folders.folder_create(owner=cls.alice, name="Alice's")
        cls.bobs_folder = folders.folder_create(owner=cls.bob, name="Bob's")
        cls.chat = Conversation.objects.create(owner=cls.alice, title="Plans")

    def setUp(self):
        self.client = Client()
        self.client.force_login(self.alice)

    def test_filing_into_another_members_folder_is_a_404(self):
        response = self.client.post(
            "/folders/file/", {"conversation": self.chat.pk, "folder": self.bobs_folder.pk}
        )
        assert response.status_code == 404
        assert Conversation.objects.get(pk=self.chat.pk).folder_id is None

    def test_nobody_else_moves_renames_deletes_or_toggles_a_folder_or_conversation(self):
        bob = Client()
        bob.force_login(self.bob)
        attempts = [
            ("/folders/file/", {"conversation": self.chat.pk, "folder": self.bobs_folder.pk}),
            ("/folders/file/", {"conversation": self.chat.pk, "folder": ""}),
            (f"/folders/{self.folder.pk}/rename/", {"name": "Bob was here"}),
            (f"/folders/{self.folder.pk}/collapse/", {"collapsed": "1"}),
            (f"/folders/{self.folder.pk}/delete/", {}),
        ]
        for path, data in attempts:
            assert bob.post(path, data).status_code == 404, path
        assert bob.get(f"/folders/{self.folder.pk}/").status_code == 404
        folder = Folder.objects.get(pk=self.folder.pk)
        assert (folder.name, folder.collapsed) == ("Alice's", False)
        assert "Alice&#x27;s" not in bob.get("/").content.decode()

    def test_the_owner_files_renames_collapses_and_comes_back_to_the_page(self):
        back = f"/c/{self.chat.pk}/"
        response = self.client.post(
            "/folders/file/", {"conversation": self.chat.pk, "folder": self.folder.pk, "next": back}
        )
        assert response.status_code == 302 and response["Location"] == back
        assert Conversation.objects.get(pk=self.chat.pk).folder_id == self.folder.pk
        response = self.client.post(
            f"/folders/{self.folder.pk}/rename/",
            {"name": "Renamed", "next": "https://evil.example/"},
        )
        assert response["Location"] == "/folders/"  # only this site's pages
        assert (
            self.client.post(f"/folders/{self.folder.pk}/collapse/", {"collapsed": "1"}).status_code
            == 204
        )
        assert Folder.objects.get(pk=self.folder.pk).collapsed
        page = self.client.get(back).content.decode()
        assert 'data-collapsed="1"' in page and ">Renamed</summary>" in page

    def test_a_refused_name_comes_back_with_the_reason(self):
        response = self.client.post("/folders/", {"name": "Alice's", "next": "/"})
        assert response.status_code == 400
        assert "You already have a folder named" in response.content.decode()

    def test_names_are_shown_as_text(self):
        folders.folder_create(owner=self.alice, name="<b>bold</b>")
        page = self.client.get("/").content.decode()
        assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
