"""Hostile text typed into the real browser stays text everywhere it is shown again."""

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browsing import screenshot
from tests.conftest import wait_for
from tests.hostile.tally import tried
from tests.inert import problems_in
from tests.streams import make_user
from webui.chat.models import Conversation, Message
from webui.chat.sharing import conversation_share

pytestmark = [
    pytest.mark.hostile,
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
    pytest.mark.worker,
]

# Each carries a marker word (m01…) to find it again with search.
HOSTILE = [
    'm01 <script>alert("m01")</script>',
    'm02 <img src=x onerror="alert(2)">',
    "m03 <svg onload=alert(3)><circle r=9></svg>",
    "m04 <iframe src=\"javascript:alert('m04')\"></iframe>",
    "m05 [click me](javascript:alert('m05'))",
    "m06 [data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "m07 <a href=\"javascript:alert('m07')\">link</a>",
    'm08 <div hx-get="/accounts/keys/" hx-trigger="load" hx-target="body">htmx</div>',
    'm09 <div id="messages" hx-swap-oob="true">wiped</div>',
    'm10 <form ws-send hx-trigger="load"><input name="content" value="again"></form>',
    'm11 <span id="messages">duplicate id</span>',
    "m12 ![tracker](http://evil.example/pixel.png)",
    'm13 <img src="http://evil.example/x.png"> <link rel=stylesheet href=//evil.example/s.css>',
    "m14 </textarea><style>body{display:none}</style><script>alert(14)</script>",
    "m15 <math><mtext><table><mglyph><style><img src=x onerror=alert(15)>",
    "m16 \"><svg/onload=alert(16)> ' onmouseover=alert(16) x='",
]
FORBIDDEN = "script, img, iframe, svg, object, embed, style, link, form, input, math"


def _log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}-12345")
    page.click("button[type=submit]")
    expect(page.locator("textarea[name=content]")).to_be_visible()


def _inert(page, selector: str) -> None:
    for html in page.locator(selector).evaluate_all("els => els.map(e => e.innerHTML)"):
        assert problems_in(html) == [], (selector, html[:300])


def test_hostile_text_stays_text_after_reload_in_sidebar_search_and_exports(
    page, asgi_server, live_worker, bundled_model
):
    bundled_model.max_tokens = 8
    bundled_model.save()
    make_user("mallory")
    dialogs, requests = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url))
    _log_in(page, asgi_server, "mallory")

    ids = []
    for text in HOSTILE:
        page.goto(f"{asgi_server}/")
        page.fill("textarea[name=content]", text)
        page.get_by_role("button", name="Send").click()
        page.wait_for_url(re.compile(r".*/c/\d+/$"))
        ids.append(int(page.url.rstrip("/").rsplit("/", 1)[1]))
        tried("rendering")
    wait_for(
        lambda: not Message.objects.filter(status__in=["queued", "streaming"]).exists(),
        timeout=120,
        message="every answer to finish",
    )

    for conversation_id, text in zip(ids, HOSTILE, strict=True):
        marker = text.split()[0]
        page.goto(f"{asgi_server}/c/{conversation_id}/")
        expect(page.locator('article[data-role="assistant"]').last).not_to_have_attribute(
            "data-status", re.compile("queued|streaming")
        )
        body = page.locator(".message-body")
        assert page.locator(f".message-body :is({FORBIDDEN})").count() == 0, text
        _inert(page, ".message-body")
        assert page.locator("#messages").count() == 1, text
        # Shown as the very characters typed: escaped, not stripped.
        expect(page.locator('article[data-role="user"] .message-body')).to_contain_text(text)
        assert body.count() == 2
        # The title in the sidebar is the text, shown as text.
        link = page.locator(f'#conversation-list [data-conversation-id="{conversation_id}"]')
        expect(link).to_contain_text(marker)
        # No element made of the title (the list's own folder forms aside).
        assert page.locator(f"#conversation-list a :is({FORBIDDEN})").count() == 0
        assert link.evaluate("a => a.children.length") == 0
        tried("rendering", 2)

        # The read-only view a shared link opens: the same text, as inert.
        token = conversation_share(conversation=Conversation.objects.get(pk=conversation_id))
        page.goto(f"{asgi_server}/s/{token}/")
        expect(page.locator('.shared-conversation article[data-role="user"]')).to_contain_text(text)
        assert page.locator(f".shared-conversation :is({FORBIDDEN})").count() == 0
        _inert(page, ".shared-conversation .message-body")
        tried("rendering")

        page.goto(f"{asgi_server}/search/?q={quote(marker)}")
        result = page.locator(f'.search-result[data-conversation-id="{conversation_id}"]')
        expect(result).to_be_visible()
        assert page.locator(f".search-results :is({FORBIDDEN})").count() == 0
        _inert(page, ".search-results")
        tried("rendering")

        for kind, content_type in (("md", "text/markdown"), ("json", "application/json")):
            response = page.request.get(f"{asgi_server}/c/{conversation_id}/export.{kind}")
            tried("rendering")
            assert response.status == 200
            assert response.headers["content-type"].startswith(content_type)
            disposition = response.headers["content-disposition"]
            assert disposition.startswith("attachment;") and f".{kind}" in disposition
            assert response.headers.get("x-content-type-options") == "nosniff"
            assert marker in response.text()
    screenshot(page, "hostile-search")

    # The search box itself, fed the hostile strings as the query.
    for text in HOSTILE[:4]:
        page.goto(f"{asgi_server}/search/?q={quote(text)}")
        assert page.locator("main :is(script, img, iframe, svg)").count() == 0
        tried("rendering")

    assert dialogs == []
    assert len(requests) > len(HOSTILE) * 4
    foreign = [url for url in requests if not url.startswith(asgi_server)]
    assert foreign == [], foreign
    assert Conversation.objects.count() == len(HOSTILE)


# Model names come from two places an intruder may reach: the GGUF file's own
# general.name (a file someone uploaded or copied in) and what an admin typed.
GGUF_NAME = (
    'g01 <img src=x onerror="alert(\'g01\')"><div hx-get="/accounts/keys/" hx-trigger="load">'
)
ADMIN_NAME = "a01 </option></select><script>alert('a01')</script><svg onload=alert(1)>\"'><iframe>"
MODEL_NAME_MARKERS = ("g01", "a01")


def _hostile_gguf(path) -> None:
    """A tiny but whole GGUF file whose metadata names it with markup."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(GGUF_NAME)
    writer.add_context_length(256)
    writer.add_block_count(1)
    writer.add_embedding_length(8)
    writer.add_head_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _no_live_markup_from(page, markers) -> None:
    """Nothing the names carry came alive: no handler, frame, script or htmx request."""
    found = page.evaluate(
        """markers => {
            const bad = [];
            for (const e of document.querySelectorAll('*')) {
                const tag = e.outerHTML.slice(0, 160);
                if ([...e.attributes].some(a => /^on/i.test(a.name))) bad.push(tag);
                if (['IFRAME', 'OBJECT', 'EMBED'].includes(e.tagName)) bad.push(tag);
                if (e.tagName === 'SCRIPT' && markers.some(m => e.textContent.includes(m)))
                    bad.push(tag);
                if (e.getAttribute('hx-get') === '/accounts/keys/') bad.push(tag);
            }
            return bad;
        }""",
        list(markers),
    )
    assert found == [], found


def test_hostile_model_names_stay_text_in_picker_headers_shared_view_and_admin(
    page, asgi_server, settings
):
    from django.contrib.auth import get_user_model

    from webui.chat import services
    from webui.chat.sharing import conversation_share
    from webui.registry.models import LLMModel
    from webui.registry.registering import register_file

    models_dir = settings.HOMEFIRE["MODELS_DIR"]
    models_dir.mkdir(parents=True, exist_ok=True)
    _hostile_gguf(models_dir / "hostile-name.gguf")
    from_file = register_file(models_dir / "hostile-name.gguf")
    assert from_file.name == GGUF_NAME  # the name really came from the file
    from_file.enabled = True
    from_file.save()
    typed = LLMModel.objects.create(
        name=ADMIN_NAME, slug="hostile-typed", path=from_file.path, is_default=True
    )
    root = get_user_model().objects.create_superuser("root", password="pw-root-12345")
    conversations = [
        services.conversation_start(owner=root, content=f"Hello {m.slug}", model=m)
        for m in (from_file, typed)
    ]
    token = conversation_share(conversation=conversations[0])

    dialogs, requests = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url))
    _log_in(page, asgi_server, "root")

    page.goto(f"{asgi_server}/")  # the model picker
    picker = page.locator("select[name=model] option")
    names = picker.evaluate_all("options => options.map(o => o.textContent)")
    for name in (GGUF_NAME, ADMIN_NAME):
        assert any(text.startswith(name) for text in names), (name, names)
    _no_live_markup_from(page, MODEL_NAME_MARKERS)
    tried("rendering", 2)

    for conversation, model in zip(conversations, (from_file, typed), strict=True):
        page.goto(f"{asgi_server}/c/{conversation.pk}/")  # header, message header, sidebar
        answer = page.locator('article[data-role="assistant"]')
        expect(answer.locator(".who")).to_have_text(model.name)
        expect(answer).to_contain_text(f"No worker is serving {model.name} right now")
        _no_live_markup_from(page, MODEL_NAME_MARKERS)
        tried("rendering", 3)

    page.goto(f"{asgi_server}/s/{token}/")  # the shared read-only view
    expect(page.locator("main")).to_contain_text(GGUF_NAME)
    _no_live_markup_from(page, MODEL_NAME_MARKERS)
    tried("rendering")

    for path in (
        "/admin/registry/llmmodel/",
        f"/admin/registry/llmmodel/{from_file.pk}/change/",
        f"/admin/registry/llmmodel/{typed.pk}/change/",
        "/admin/registry/worker/",
    ):
        response = page.goto(f"{asgi_server}{path}")
        assert response.status == 200, path
        _no_live_markup_from(page, MODEL_NAME_MARKERS)
        tried("rendering")
    page.goto(f"{asgi_server}/admin/registry/llmmodel/")
    expect(page.locator("#result_list")).to_contain_text("g01 <img src=x")
    screenshot(page, "hostile-model-names-admin")

    assert dialogs == []
    foreign = [url for url in requests if not url.startswith(asgi_server)]
    assert foreign == [], foreign
