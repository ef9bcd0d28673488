"""Check that a piece of HTML can run nothing and fetch nothing, by parsing it."""

from html.parser import HTMLParser

FORBIDDEN_TAGS = {
    "script",
    "img",
    "iframe",
    "svg",
    "object",
    "embed",
    "style",
    "link",
    "form",
    "input",
    "meta",
    "base",
    "video",
    "audio",
    "math",
}


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") or name.startswith("hx-") or name.startswith("ws-"):
                self.problems.append(f"{tag}[{name}]")
            if name in {"href", "src", "action", "formaction"} and not value.startswith(
                ("http://", "https://", "mailto:", "#", "/")
            ):
                self.problems.append(f"{tag}[{name}={value}]")
            if name == "id":
                self.problems.append(f"{tag}[id={value}]")


def problems_in(html: str) -> list[str]:
    collector = _Collector()
    collector.feed(html)
    return collector.problems
