"""HTML pages: their main content, as Markdown."""

from __future__ import annotations

from pathlib import Path

# Elements that never hold the document's own text.
_HIDDEN = ["script", "style", "noscript", "template", "head", "nav", "footer", "aside", "form", "svg", "button"]


def html_text(data: bytes, path: Path | None = None) -> tuple[str, str]:
    """The main text of an HTML page and its format: Markdown, so that its headings, lists and tables are
    read as in a Markdown file.

    trafilatura finds the page's main content and leaves out its chrome: navigation, breadcrumbs, cookie
    banners, headers, footers and newsletter boxes. Its work grows with the page (a 2 MB page takes about a
    second), unlike the tree edits this replaced. A page too small for it to judge falls back to all of its
    visible text, one paragraph a line.
    """
    import trafilatura  # only indexing HTML pays for it

    extracted = trafilatura.extract(
        data, include_comments=False, include_tables=True, include_images=False, favor_recall=True,
        deduplicate=False, include_formatting=True, include_links=False, output_format="markdown",
    )
    if extracted and extracted.strip():
        return _blocks_apart(extracted), "markdown"
    return "\n\n".join(line.strip() for line in _visible_text(data).splitlines() if line.strip()), "text"


def _blocks_apart(markdown: str) -> str:
    """trafilatura's Markdown with a blank line after every line but a table's rows: it sometimes puts
    blocks on consecutive lines, which Markdown would read as one paragraph."""
    lines = [line.rstrip() for line in markdown.splitlines() if line.strip()]
    joined = lines[:1]
    for before, line in zip(lines, lines[1:], strict=False):
        table_row = before.lstrip().startswith("|") and line.lstrip().startswith("|")
        joined.append(("\n" if table_row else "\n\n") + line)
    return "".join(joined)


def _visible_text(data: bytes) -> str:
    """All the text a browser would show, a line a block element (BeautifulSoup, in one pass)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "lxml")
    for element in soup(_HIDDEN):
        element.decompose()
    return soup.get_text(separator="\n")
