"""Credentials out of sight: database URLs as crm prints, logs and stores them."""

from __future__ import annotations

import re

#: `scheme://user:password@host`: everything from the first colon after the user name to the
#: last "@" is the password (SQLAlchemy reads it the same way, and hiding too much is harmless).
_URL_PASSWORD = re.compile(
    r"^(?P<head>[^:/?#]+://[^:@/?#]*:)(?P<password>.*)@(?P<tail>[^@]*)$", re.S
)
#: libpq also takes the password as a query parameter: `...?password=secret`.
_QUERY_PASSWORD = re.compile(r"(?i)(?P<key>[?&](?:password|passwd|pwd)=)[^&#]*")


def redact_url(url: str) -> str:
    """`url` with any password replaced by `***`: what crm prints, logs and stores.

    >>> redact_url("postgresql://crm:s3cret@db.example/crm")
    'postgresql://crm:***@db.example/crm'
    """
    hidden = _URL_PASSWORD.sub(r"\g<head>***@\g<tail>", url)
    return _QUERY_PASSWORD.sub(r"\g<key>***", hidden)


def url_has_password(url: str) -> bool:
    """Whether `url` holds a password (in its user part or as a query parameter)."""
    return redact_url(url) != url
