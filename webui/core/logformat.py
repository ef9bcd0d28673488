"""Log records as one JSON object a line (HOMEFIRE_LOG_FORMAT=json), for log collectors.

Each line holds the time, level, logger and message, then whatever the call passed in
`extra` (`log.info("request", extra={"status": 200})` gives `"status": 200`), then the
traceback, if any. What people wrote to the models stays out unless an admin asks for
it: ContentFilter removes the fields named in CONTENT_FIELDS from every record.
"""

import json
import logging
from datetime import UTC, datetime

# The attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
CONTENT_FIELDS = frozenset({"content", "prompt", "body"})


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON, with its `extra` fields at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class ContentFilter(logging.Filter):
    """Drop message text passed in `extra` (content, prompt, body) unless told to keep it."""

    def __init__(self, keep: bool = False) -> None:
        super().__init__()
        self.keep = keep

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.keep:
            for field in CONTENT_FIELDS & vars(record).keys():
                delattr(record, field)
        return True
