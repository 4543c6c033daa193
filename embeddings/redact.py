"""What messages and logs may show of an address: a URL without its user name and password."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def shown_url(url: str) -> str:
    """url with any user name and password replaced by "***" ("http://***@host:19530"); other text as it is."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL that can be read: it holds no credentials that could be found either
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))
