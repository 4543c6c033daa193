"""Every string the Telegram bot sends: quote cards, help texts and replies, each one message Telegram accepts.

Every piece of document or user text goes through `html.escape`; tags come only from here, and a quote
too long for a message is cut between characters of its text, never inside a tag.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from bot.i18n import N_, _, ngettext, number
from bot.render import emphasis_runs, paragraphs_line, place_line, sentence, source_name
from embeddings import CorpusInfo, Quote

# Telegram's limit is 4,096 characters of text after entity parsing; counting UTF-16 code units is never
# less than what Telegram counts.
MESSAGE_LIMIT = 4096
# A supergroup's id is -(10**12 + its id in t.me/c/ links).
SUPERGROUP_OFFSET = 10**12

NON_TEXT_HINT = N_("I can only read text. Send your question as a message.")
UNKNOWN_COMMAND = N_("I don't know that command. /help shows how to ask.")
ADMINS_ONLY = N_("Thank you! Only the bot's admins can add texts; /sources lists the ones I answer from.")
ADMINS_ONLY_FORGET = N_("Only the bot's admins can remove texts.")
OUR_FAILURE = N_("Sorry, something went wrong on my side and I could not answer that.")
STORE_DOWN = N_("Sorry, the texts cannot be reached just now; try again in a minute.")
FORGED_BUTTON = N_("This button is not one of mine, so I ignore it.")
CARD_UNEDITABLE = N_("I cannot change that message any more; please ask again.")


def shown_length(text: str) -> int:
    """Length of text as Telegram measures it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def card_html(
    excerpt: list[Quote],
    heading: str | None = None,
    lead: str | None = None,
    footer: str | None = None,
    notes: tuple[str, ...] = (),
    show_source: bool = False,
    limit: int = MESSAGE_LIMIT,
    also: tuple[Quote, ...] = (),
    emphasise: bool = True,
    asked: str | None = None,
) -> str:
    """A quote card: the excerpt in an expandable blockquote, where it stands, and the lines around it.

    Args:
        excerpt: quotes of one document in text order; "…" stands between them, each answering sentence is
            bold, and the first quote's is kept in view when the excerpt must be cut to fit.
        heading: a line above everything, such as the question the card answers (bold is kept for the
            answering sentences).
        lead: an italic line above the quote.
        footer: a line under the place.
        notes: what was changed in the question, each an italic line.
        show_source: name the document in the place line.
        limit: the most characters the card may show.
        also: other relevant passages, listed under the place as one short line each.
        emphasise: make the answering sentence bold (only where it answers).
        asked: the question the card answers, as its asker wrote it: shown first, in a code span no text
            can close, so that words of the asker's can never pass for the bot's.
    """
    first = plain(_("Asked:")) + f" <code>{plain(asked)}</code>" if asked else ""
    if heading:
        first = f"{first} · {plain(heading)}" if first else plain(heading)
    lines = [first] if first else []
    lines += ["<i>" + plain(_("Note: {note}.").format(note=_(note))) + "</i>" for note in notes]
    if lead:
        lines.append(f"<i>{plain(lead)}</i>")
    places = place_line(excerpt)
    if show_source and excerpt:
        places += f" · {source_name(excerpt)}"
    after = [f"<i>{plain(places)}</i>"]
    for quote in also:
        where = paragraphs_line([quote]) + (f" · {source_name([quote])}" if show_source else "")
        after.append(plain(_("Also, {where}: “{sentence}”").format(where=where, sentence=sentence(quote, 160))))
    after += [plain(footer)] if footer else []
    around = "\n".join(lines + after)
    # The card's own lines, the two line breaks around the quote, and room for the "…" of a cut.
    budget = limit - shown_length(parse_free(around)) - 2 - 4
    runs = _fit(emphasis_runs(excerpt, emphasise), budget)
    quote = "".join(f"<b>{plain(text)}</b>" if bold else plain(text) for text, bold in runs).replace("</b><b>", "")
    return "\n".join(lines + [f"<blockquote expandable>{quote}</blockquote>"] + after)


def start_text(info: CorpusInfo) -> str:
    """The welcome: what the bot knows, how it answers, a question to try."""
    names = ", ".join(_fit_list([f"<b>{plain(d.name)}</b>" for d in info.documents], 1500))
    lines = [
        _("Hello! I answer questions about {names} by quoting the text word for word, "
          "and I say so when it does not hold the answer.").format(names=names),
    ]
    if info.documents and info.documents[0].opening:
        opening = html.escape(info.documents[0].opening, quote=False)
        lines.append(_("It begins:") + f"\n<blockquote>{opening}</blockquote>")
    if info.sample_question:
        lines.append(_("Try:") + f" <code>{html.escape(info.sample_question, quote=False)}</code>")
    lines.append(_("/help shows how to ask, /about where the answers come from."))
    return "\n\n".join(lines)


def help_text(username: str) -> str:
    """How to ask, in private chats and in groups."""
    name = html.escape(username, quote=False)
    return _(
        "<b>In this chat</b>, send a question as a message.\n"
        "<b>In a group</b>, write <code>/ask your question</code>, mention @{name} in a message, "
        "or reply to one of my answers.\n\n"
        "Each answer is a card quoting the passage that answers best, the answering sentence in bold and "
        "where it stands below. Its buttons show more of the text around the quote, the whole paragraph, "
        "or the next match.\n"
        "If I am not sure the text answers, I say so and show the closest passage with nothing in bold. If "
        "the text does not hold the answer I say that, show the nearest passage and suggest words the text "
        "does use. I never add words of my own.\n\n"
        "<b>Anywhere</b>, type @{name} and a question to share a quote into any chat."
    ).format(name=name)


def about_text(info: CorpusInfo) -> str:
    """The source texts and the index the answers come from."""
    if len(info.documents) == 1:
        [d] = info.documents
        lines = [_("I answer from {name}, {paragraphs}.").format(name=f"<b>{plain(d.name)}</b>",
                                                                 paragraphs=_paragraphs(d.paragraphs))]
    else:
        lines = [_("I answer from {count} texts:").format(count=len(info.documents))]
        lines += _fit_list([f"• <b>{plain(d.name)}</b>, {_paragraphs(d.paragraphs)}" for d in info.documents], 3000)
    lines.append("\n" + _(
        "I quote them word for word and never add words of my own. I look for the passages that mean what you "
        "ask, not only those that share its words (the model {model}), "
        "and I say so when the text does not hold the answer."
    ).format(model=f"<code>{plain(Path(info.model).name)}</code>"))
    return "\n".join(lines)


def _paragraphs(count: int) -> str:
    return ngettext("{count} paragraph", "{count} paragraphs", count).format(count=number(count))


def _fit_list(items: list[str], budget: int) -> list[str]:
    """As many items as fit in budget characters, then "… and N more": a message holds 4,096 at most."""
    shown, used = [], 0
    for item in items:
        if used + len(item) > budget:
            return shown + [_("… and {count} more").format(count=number(len(items) - len(shown)))]
        shown.append(item)
        used += len(item) + 2
    return shown


def sources_text(info: CorpusInfo, admin: bool) -> str:
    """The texts the bot answers from, numbered; admins are told how to add and remove them."""
    lines = [_("I answer from {count} text(s):").format(count=len(info.documents))]
    lines += _fit_list(
        [f"{n}. <b>{plain(d.name)}</b>: {_paragraphs(d.paragraphs)}, "
         + ngettext("{count} character", "{count} characters", d.chars).format(count=number(d.chars))
         for n, d in enumerate(info.documents, start=1)],
        3200,
    )
    if admin:
        lines.append("\n" + _("Send me a .txt, .md, .html, .pdf or .docx file, or a web page's address, to add "
                              "it; /forget N removes text N."))
    return "\n".join(lines)


def ask_for_a_question(sample_question: str | None) -> str:
    """The reply to a question with nothing to search for."""
    example = sample_question or _("What is the text about?")
    return plain(_("Please write a question, for example: /ask {example}").format(example=example))


def over_the_limit(who: str, per_minute: int, retry_in: float, asked: str = "asked") -> str:
    """The one note a user or a chat gets when it goes over its limit (asked questions, or sent anything else)."""
    wait = max(1, round(retry_in))
    lines = {
        ("You have", "asked"): _("You have asked {count} questions in the last minute, the most I answer. "
                                 "Please ask again in {wait} s."),
        ("You have", "sent"): _("You have sent {count} messages in the last minute, the most I answer. "
                                "Please ask again in {wait} s."),
        ("This chat has", "asked"): _("This chat has asked {count} questions in the last minute, the most I "
                                      "answer. Please ask again in {wait} s."),
        ("This chat has", "sent"): _("This chat has sent {count} messages in the last minute, the most I "
                                     "answer. Please ask again in {wait} s."),
    }
    return plain(lines[who, asked].format(count=per_minute, wait=wait))


def too_many_presses(retry_in: float) -> str:
    """The alert for a user who presses buttons faster than the limit."""
    return _("That is a lot of presses; please try again in {wait} s.").format(wait=max(1, round(retry_in)))


def courtesy_text(chat_id: int, message_id: int, minutes: int) -> str:
    """A short pointer to an earlier answer: a link in a supergroup, where messages have links."""
    when = "a moment ago" if minutes < 1 else f"{minutes} minute{'s' if minutes > 1 else ''} ago"
    if chat_id < -SUPERGROUP_OFFSET:
        link = f"https://t.me/c/{-chat_id - SUPERGROUP_OFFSET}/{message_id}"
        return f'That was asked and answered here {when}: <a href="{link}">see that answer</a>.'
    return f"That was asked and answered here {when}; my answer is a little way up."


def which_text(count: int) -> str:
    """The reply to /forget without a valid number."""
    line = _("Which text? Write /forget N, with N from 1 to {count} as /sources numbers them.")
    return plain(line.format(count=count))


def forgotten(name: str, count: int) -> str:
    """The reply once a text is forgotten."""
    return plain(_("I forgot {name}. I now answer from {count} text(s).").format(name=name, count=count))


def not_a_text_file(file_name: str | None, suffixes: tuple[str, ...]) -> str:
    """The reply to an upload that is not a kind of file citebot reads."""
    return plain(f"I can add text files ({', '.join(suffixes)}); {file_name or 'this file'} is not one.")


def too_large(name: str, size: int | None, limit: int) -> str:
    """The reply to an upload over the size limit (size None: found out while downloading)."""
    if size is None:
        return plain(f"{name} is over {limit / 1e6:.1f} MB; I did not add it.")
    return plain(f"{name} is {size / 1e6:.1f} MB; the most I take is {limit / 1e6:.1f} MB.")


def download_failed(name: str) -> str:
    """The reply when Telegram would not hand over an upload (the server's own words go to the log only)."""
    return plain(_("I could not fetch {name} from Telegram; please send it again.").format(name=name))


def not_added(name: str, reason: str) -> str:
    """The reply to an upload that could not be indexed."""
    return plain(_("I did not add {name}: {reason}").format(name=name, reason=reason))


def added(name: str, replaced: bool, count: int) -> str:
    """The reply once an upload is indexed."""
    if replaced:
        line = _("I took in the new version of {name}. I now answer from {count} text(s); /sources lists them.")
    else:
        line = _("I added {name}. I now answer from {count} text(s); /sources lists them.")
    return plain(line.format(name=name, count=count))


def plain(text: str) -> str:
    """Escape text for a message of its own."""
    return html.escape(text, quote=False)


def parse_free(html_text: str) -> str:
    """The text an HTML string made here shows (its tags dropped, its entities read)."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def _fit(runs: list[tuple[str, bool]], budget: int) -> list[tuple[str, bool]]:
    """The runs cut to at most budget UTF-16 units around the first bold run, "…" marking each cut."""
    text = "".join(t for t, _ in runs)
    if shown_length(text) <= budget:
        return runs
    bounds, position = [], 0
    for run_text, bold in runs:
        bounds.append((position, position + len(run_text), bold))
        position += len(run_text)
    focus_start, focus_end = next(((s, e) for s, e, bold in bounds if bold), (0, 0))
    width = budget
    while True:
        # Centre the window on the bold run, or start it there when the run alone is wider.
        start = max(0, min(focus_start - max(0, width - (focus_end - focus_start)) // 2, len(text) - width))
        end = min(len(text), start + width)
        if shown_length(text[start:end]) <= budget or width <= 1:
            break
        width = width * budget // shown_length(text[start:end])
    cut = [(text[max(s, start) : min(e, end)], bold) for s, e, bold in bounds if min(e, end) > max(s, start)]
    return ([("…", False)] if start > 0 else []) + cut + ([("…", False)] if end < len(text) else [])
