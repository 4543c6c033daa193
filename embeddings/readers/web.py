"""Web pages by their address: fetched over HTTP(S) with bounds on time, size and redirects, and only from
public addresses unless a setting allows private ones."""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from urllib.parse import urljoin, urlsplit

from embeddings.errors import SourceError
from embeddings.readers.limits import MAX_FILE_BYTES, MAX_READ_SECONDS
from embeddings.redact import shown_url

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
MAX_REDIRECTS = 5
TIMEOUT_SECONDS = 15.0
USER_AGENT = "citebot (+https://github.com/citebot; fetches a page once to quote it)"
# The kind of reader a fetched page needs, by its Content-Type.
KINDS = {
    "text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt", "text/markdown": ".md",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}


def is_address(source: object) -> bool:
    """Whether source is an address (scheme://...) rather than a file: only http(s) ones are fetched."""
    return isinstance(source, str) and _SCHEME.match(source) is not None


def fetch(address: str, allow_private: bool = False) -> tuple[bytes, str]:
    """The bytes of the page at address and the suffix of the reader it needs (".html", ".pdf", ...).

    Redirects are followed up to MAX_REDIRECTS, each to http(s) and each checked like the first; the body
    is read up to MAX_FILE_BYTES and for at most MAX_READ_SECONDS.

    Raises:
        SourceError: not http(s), a private or local address (unless allow_private), unreachable, an
            error status, too many redirects, too large or too slow, or not a kind citebot reads.
    """
    import httpx  # only indexing a web page pays for it

    shown = shown_url(address)
    deadline = time.monotonic() + MAX_READ_SECONDS
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, headers={"User-Agent": USER_AGENT}) as client:
        for _ in range(MAX_REDIRECTS + 1):
            _check_address(address, shown, allow_private)
            try:
                with client.stream("GET", address) as response:
                    if response.is_redirect:
                        address = urljoin(address, response.headers.get("location", ""))
                        continue
                    if response.status_code != 200:
                        raise SourceError(shown, f"{shown}: the server answered {response.status_code} "
                                                 f"{response.reason_phrase}")
                    return _body(response, shown, deadline), _kind(response, address, shown)
            except httpx.HTTPError as error:
                raise SourceError(shown, f"{shown}: cannot be fetched ({type(error).__name__}: {error})") from None
    raise SourceError(shown, f"{shown}: redirects more than {MAX_REDIRECTS} times")


def _check_address(address: str, shown: str, allow_private: bool) -> None:
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(shown, f"{shown}: only http:// and https:// addresses are fetched")
    if allow_private:
        return
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        raise SourceError(shown, f"{shown}: its host cannot be found ({error})") from None
    for *_, (host, *_) in found:
        if not ipaddress.ip_address(host.split("%")[0]).is_global:
            raise SourceError(shown, f"{shown}: is a private or local address ({host}); "
                                     "set CITEBOT_ALLOW_PRIVATE_ADDRESSES=1 to fetch it")


def _body(response, shown: str, deadline: float) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FILE_BYTES:
        raise SourceError(shown, f"{shown}: {int(declared):,} bytes is over the limit of {MAX_FILE_BYTES:,}")
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > MAX_FILE_BYTES:
            raise SourceError(shown, f"{shown}: is over the limit of {MAX_FILE_BYTES:,} bytes")
        if time.monotonic() > deadline:
            raise SourceError(shown, f"{shown}: took over {MAX_READ_SECONDS:.0f} s to fetch")
    return bytes(data)


def _kind(response, address: str, shown: str) -> str:
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in KINDS:
        return KINDS[content_type]
    path = urlsplit(address).path.lower()
    suffix = next((s for s in (".html", ".htm", ".txt", ".md", ".markdown", ".pdf", ".docx") if path.endswith(s)), "")
    if suffix and content_type in ("", "application/octet-stream"):
        return suffix
    raise SourceError(shown, f"{shown}: is {content_type or 'of no stated type'}, not a web page, text, PDF or "
                             "Word document")
