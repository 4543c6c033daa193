"""Web pages indexed by their address, against an HTTP server on 127.0.0.1 started here: fetched, quoted
and named by their address, fetched again by `citebot index`, and refused in one line when the address
is private (unless allowed), not http(s), redirects without end, or is not a document; an admin adds one
to the Telegram bot by sending its address."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.telegram_harness import RunningBot

from .conftest import ARTICLE

pytestmark = pytest.mark.model
CITEBOT = Path(sys.executable).with_name("citebot")
PARK = """<html><head><title>Riverside Park</title></head><body><nav>Home › Parks</nav><main>
<h1>Riverside Park</h1><p>Riverside Park opens at 7 am and closes at sunset every day of the year.</p>
<h2>Dogs</h2><p>Dogs are welcome on a lead; the meadow by the boathouse is the only place they may run free.</p>
</main><footer>City of Lena · Contact us</footer></body></html>"""


class Site(http.server.BaseHTTPRequestHandler):
    """/park.html (its text in PAGES), /loop redirecting to itself, /archive.zip; nothing logged."""

    pages: dict[str, tuple[str, bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 (the handler's name is http.server's)
        if self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
            return
        kind, body = self.pages.get(self.path, ("text/plain", b""))
        self.send_response(200 if self.path in self.pages else 404)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def site():
    Site.pages = {"/park.html": ("text/html; charset=utf-8", PARK.encode()),
                  "/archive.zip": ("application/zip", b"PK\x03\x04")}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def citebot(tmp_path: Path, *args: str, allow: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not (k.startswith("CITEBOT_") and k != "CITEBOT_MODEL")}
    env["CITEBOT_INDEX_DIR"] = str(tmp_path / "index")
    if allow:
        env["CITEBOT_ALLOW_PRIVATE_ADDRESSES"] = "1"
    return subprocess.run([str(CITEBOT), *args], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_a_page_is_indexed_by_its_address_and_fetched_again_when_the_index_is_updated(site, tmp_path):
    page = f"{site}/park.html"
    built = citebot(tmp_path, "index", page)
    assert built.returncode == 0 and "Indexed 1 file(s)" in built.stdout, built.stderr
    found = json.loads(citebot(tmp_path, "ask", "--json", "When does the park close?").stdout)
    first = found["passages"][0]
    assert (first["source"], first["section"]) == (page, "Riverside Park")
    assert "closes at sunset" in first["text"] and "Home" not in first["text"]
    assert citebot(tmp_path, "index").stdout.startswith("The index in")  # unchanged: nothing embedded
    Site.pages["/park.html"] = ("text/html", PARK.replace("7 am", "8 am").encode())
    again = citebot(tmp_path, "index")
    assert "1 embedded" in again.stdout, again.stdout + again.stderr
    assert "8 am" in json.loads(citebot(tmp_path, "ask", "--json", "When does the park open?").stdout)[
        "passages"][0]["text"]
    assert citebot(tmp_path, "index", str(ARTICLE)).returncode == 0
    forgot = citebot(tmp_path, "forget", page)
    assert forgot.stdout.startswith(f"Forgot {page}: the index in ") and "holds 1 file(s)" in forgot.stdout, forgot.stderr


@pytest.mark.parametrize("path, reason", [
    ("/park.html", "is a private or local address (127.0.0.1); set CITEBOT_ALLOW_PRIVATE_ADDRESSES=1"),
    ("/loop", "redirects more than 5 times"),
    ("/archive.zip", "is application/zip, not a web page, text, PDF or Word document"),
    ("/gone.html", "the server answered 404 Not Found"),
])
def test_an_address_that_cannot_be_indexed_is_refused_in_one_line(site, tmp_path, path, reason):
    result = citebot(tmp_path, "index", site + path, allow=path != "/park.html")
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and result.stdout == "" and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {site}{path}: {reason}")


def test_only_web_addresses_are_fetched(tmp_path):
    result = citebot(tmp_path, "index", "ftp://example.com/notes.txt")
    assert result.returncode == 1
    assert result.stderr == "error: ftp://example.com/notes.txt: only http:// and https:// addresses are fetched\n"


def test_an_admin_adds_a_page_to_the_bot_by_sending_its_address(site, bot_api, own_engine):
    api, page, admin = bot_api, f"{site}/park.html", 4242
    with RunningBot(api, own_engine, telegram_admins=(admin,)):
        stranger = api.send(77, page)
        assert api.wait_for_replies(stranger)[0].text.startswith("Thank you! Only the bot's admins can add texts")
        private = api.wait_for_replies(api.send(admin, page), timeout=60)[0].text
        assert private == (f"I did not add {page}: {page}: is a private or local address (127.0.0.1); "
                           "set CITEBOT_ALLOW_PRIVATE_ADDRESSES=1 to fetch it")
        own_engine.allow_private_addresses = True  # as CITEBOT_ALLOW_PRIVATE_ADDRESSES=1 makes it
        added = api.wait_for_replies(api.send(admin, f" {page}\n"), timeout=60)[0].text
        assert added == f"I added {page}. I now answer from 2 text(s); /sources lists them."
        card = api.card(api.send(admin, "When does the park close?"))
        assert any("closes at sunset" in b for b in card.bold) and page in card.text
        Site.pages["/park.html"] = ("text/html", PARK.replace("sunset", "dusk").encode())
        again = api.wait_for_replies(api.send(admin, page), timeout=60)[0].text
        assert again.startswith(f"I took in the new version of {page}.")
        listed = api.wait_for_replies(api.send(admin, "/sources"))[0].text
        assert f"2. {page}" in listed and "or a web page's address" in listed
    assert [d.source for d in own_engine.describe().documents][1] == page
