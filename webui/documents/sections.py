"""What extraction gives chunking: the text of a file in the parts it names itself."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Section:
    """A run of text with where it is: a PDF's page, or the heading it sits under."""

    text: str
    page: int | None = None
    heading: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Section":
        return cls(text=str(data["text"]), page=data.get("page"), heading=str(data["heading"]))
