"""Logging filters: credentials masked before any handler writes a record; client errors on one line."""
from __future__ import annotations

import logging
import re

# user:password@ in URLs, bearer tokens, and key=value pairs whose key names a secret.
_PATTERNS = [
    (re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)[^@\s]+(?P<post>@)"), r"\g<pre>***\g<post>"),
    (re.compile(r"(?i)(?P<pre>bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\g<pre>***"),
    (
        re.compile(r"(?i)(?P<pre>\b(?:password|passwd|token|secret|api[_-]?key|private[_-]?key)\s*[=:]\s*)[^\s,;&]+"),
        r"\g<pre>***",
    ),
]


def redact(text: str) -> str:
    """Mask credentials in ``text``; used by the log filter and by error messages shown to users."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, redacted, so handlers don't format the raw one.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class ClientErrorsOneLine(logging.Filter):
    """A 4xx answer (403, 404, 405, ...) is the client's business, not a fault: one line, no traceback.

    Django logs refused requests with the exception attached; a server error (5xx) keeps its traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info, record.exc_text = None, None
        return True
