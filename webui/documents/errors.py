"""The one exception of the documents app: a file Homefire will not take or cannot read."""


class DocumentRefused(Exception):
    """Why a file was refused or could not be indexed; `message` is shown to its owner."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
