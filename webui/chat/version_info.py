"""Which of its versions a message is: values only, shared by the model and the tree."""

from dataclasses import dataclass


@dataclass(frozen=True)
class VersionInfo:
    number: int
    count: int
    previous_id: int | None = None
    next_id: int | None = None

    @property
    def label(self) -> str:
        return f"{self.number}/{self.count}"


SINGLE = VersionInfo(1, 1)


def group_id(message) -> int:
    return message.version_of_id or message.pk


def info_of(message_id: int, ids: list[int]) -> VersionInfo:
    if len(ids) <= 1:
        return SINGLE
    index = ids.index(message_id)
    return VersionInfo(
        number=index + 1,
        count=len(ids),
        previous_id=ids[index - 1] if index > 0 else None,
        next_id=ids[index + 1] if index + 1 < len(ids) else None,
    )
