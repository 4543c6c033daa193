"""The citebot command line: index, ask, chat and eval."""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import re
import secrets
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

import click

from bot import i18n
from bot.config import DEFAULT_ARTICLE, Settings, check_telegram, load_settings
from bot.i18n import N_, _, ngettext
from bot.render import names_sources, small_talk, small_talk_reply
from bot.terminal import fitted, format_answer, printable
from embeddings import (
    MAX_QUESTION_CHARS,
    Answer,
    BuildReport,
    CitebotError,
    EmptyQuestionError,
    Engine,
    IndexNotFoundError,
    IndexStoreError,
    Progress,
    StoreUnavailableError,
    is_address,
)

logger = logging.getLogger(__name__)

CHAT_HELP = N_("""Type a question and press Enter. Commands:
  :help      this help (commands may also start with /, as /help)
  :k N       show N passages an answer (now {k})
  :quit      leave (so do quit, exit, Ctrl-D, and Ctrl-C twice)""")
HISTORY_FILE = Path.home() / ".citebot_history"


def _echo(text: str = "", err: bool = False) -> None:
    """click.echo without control characters (but line breaks and tabs): file names, headings and questions
    may hold escape sequences that would move the cursor or retitle the terminal, now or when a pipe's
    output is shown later."""
    click.echo(printable(text), err=err)


class UserError(click.ClickException):
    """An error for the user: printed as one line, with exit status 1 (2 for bad input)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        _echo(f"error: {self.format_message()}", err=True)


class CitebotGroup(click.Group):
    """Turns the errors users can fix into one clear line instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CitebotError as error:
            raise UserError(str(error), exit_code=2 if isinstance(error, EmptyQuestionError) else 1) from error


index_option = click.option(
    "--index", "index_dir", type=click.Path(path_type=Path), help="Index directory."
)
top_k_option = click.option("-k", "top_k", type=click.IntRange(1, 20), help="Passages to show (default 3).")


def _more_verbose(ctx: click.Context, _: click.Parameter, count: int) -> None:
    ctx.find_root().obj["verbose"] += count


# -v after the command too ("citebot ask -v ..."), as well as before it.
verbose_option = click.option("-v", "--verbose", count=True, expose_value=False, callback=_more_verbose,
                              help="Log more (-v info, -vv debug).")


@click.group(cls=CitebotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--env-file", type=click.Path(dir_okay=False, path_type=Path), help="Settings file (default ./.env).")
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
@click.option("--lang", metavar="CODE", help="Language of citebot's own words: en or ru (default: the locale's).")
@click.pass_context
def cli(ctx: click.Context, env_file: Path | None, verbose: int, lang: str | None) -> None:
    """citebot answers questions about a text by quoting it verbatim."""
    ctx.obj = {"env_file": env_file, "verbose": verbose}
    if lang and not i18n.speaks(lang):
        _echo(f"note: citebot's own words are in {' or '.join(i18n.LANGUAGES)}; --lang {lang} speaks English",
              err=True)
    i18n.use(lang or i18n.locale_language())


def _settings(**flags: object) -> Settings:
    obj = click.get_current_context().find_root().obj
    settings = load_settings(obj["env_file"], **flags)
    level = {0: settings.log_level, 1: "INFO"}.get(obj["verbose"], "DEBUG")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # Milvus Lite's in-process server logs each call it does not implement (the client does without).
    logging.getLogger("grpc").setLevel(level if level == "DEBUG" else logging.CRITICAL)
    return settings


def _engine(settings: Settings) -> Engine:
    return Engine(
        settings.index_store(), settings.index_settings(), settings.retrieval_settings(), cache_dir=settings.cache_dir,
        allow_private_addresses=settings.allow_private_addresses,
    )


def _open(engine: Engine) -> None:
    """Load the index, saying how to build it when there is none, and warn when it is stale."""
    try:
        engine.open()
    except IndexNotFoundError as error:
        bundled = f" (the bundled article is {DEFAULT_ARTICLE})" if DEFAULT_ARTICLE.is_file() else ""
        raise UserError(f"{error}{bundled}") from error
    for warning in engine.warnings():
        _echo(f"warning: {warning}", err=True)


@cli.command()
@verbose_option
@click.argument("sources", nargs=-1, metavar="[PATHS]...")
@index_option
@click.option("--force", is_flag=True, help="Re-embed everything, even what did not change.")
@click.option("--prune", is_flag=True, help="Drop what is gone; with PATHS, index exactly PATHS and drop the rest.")
def index(sources: tuple[str, ...], index_dir: Path | None, force: bool, prune: bool) -> None:
    """Add or update text, Markdown, HTML, PDF and Word files, folders and web pages (https://...); only new and
    changed ones are embedded.

    PATHS join the files the index already holds. Without PATHS: update what it holds, fetching its web
    pages again (else index the bundled article). Nothing leaves the index unless asked: --prune, or
    `citebot forget PATH`.
    """
    paths = tuple(source if is_address(source) else Path(source) for source in sources)
    settings = _settings(index_dir=index_dir)
    engine = _engine(settings)
    if not paths:
        try:
            engine.inputs()
        except StoreUnavailableError:
            raise
        except IndexStoreError:
            paths = (DEFAULT_ARTICLE,)

    def build(progress: Progress | None):
        report, gone = engine.update(list(paths), prune=prune, force=force, progress=progress)
        for path in gone:
            _echo(f"note: {path} no longer exists; it leaves the index", err=True)
        return report

    _build(engine, settings, build)


@cli.command()
@verbose_option
@click.argument("path")
@index_option
def forget(path: str, index_dir: Path | None) -> None:
    """Drop the file or web page PATH from the index (one named when indexing, not one found in a folder)."""
    settings = _settings(index_dir=index_dir)
    engine = _engine(settings)
    report = engine.forget(path if is_address(path) else Path(path))
    _warn_skipped(report)
    _echo(f"Forgot {path}: the index in {engine.store.location} holds {report.documents} file(s), "
          f"{report.passages} passages.")


@cli.command()
@verbose_option
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@index_option
def sources(as_json: bool, index_dir: Path | None) -> None:
    """List the files and web pages the index answers from."""
    settings = _settings(index_dir=index_dir)
    engine = _engine(settings)
    _open(engine)
    info = engine.describe()
    if as_json:
        click.echo(json.dumps({"index": str(engine.store.location), "model": info.model, "passages": info.passages,
                               "documents": [asdict(d) for d in info.documents]}, ensure_ascii=False))
        return
    for number, document in enumerate(info.documents, start=1):
        _echo(f"{number}. {document.name}: {document.paragraphs:,} paragraph(s), {document.chars:,} characters "
              f"({document.source})")
    _echo(f"{len(info.documents):,} file(s), {info.passages:,} passages, in {engine.store.location} ({info.model})")


def _asked(answer: Answer) -> str:
    """The question as typed; if the search read only its first MAX_QUESTION_CHARS characters (a note says
    so), what it read and "…"."""
    cut = len(answer.query) >= MAX_QUESTION_CHARS and len(answer.question) > MAX_QUESTION_CHARS
    return answer.query + "…" if cut else answer.question.strip()


def _warn_skipped(report: BuildReport) -> None:
    for reason in report.skipped:
        _echo(f"warning: left out {reason}", err=True)


def _build(engine: Engine, settings: Settings, build) -> None:
    """Run a build with a progress bar in a terminal and say what it did."""
    with _progress_bar(sys.stderr.isatty()) as progress:
        report = build(progress)
    _warn_skipped(report)
    what = f"{report.documents} file(s), {report.passages} passages"
    if report.built:
        kept = report.documents - report.embedded
        changes = f"{report.embedded} embedded, {kept} unchanged, {report.removed} removed"
        _echo(f"Indexed {what} into {engine.store.location}: {changes} ({'; '.join(report.reasons)}).")
        for document in engine.describe().documents:
            if not document.paragraphs:  # kept, so that the next build sees it unchanged, but nothing to find
                _echo(f"warning: {document.source} holds no text to search", err=True)
    else:
        _echo(f"The index in {engine.store.location} is up to date ({what}): nothing to do.")


@cli.command()
@verbose_option
@click.argument("question")
@top_k_option
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON (one object a line).")
@index_option
def ask(question: str, top_k: int | None, as_json: bool, index_dir: Path | None) -> None:
    """Answer QUESTION from the index; with - read questions from standard input, one a line."""
    settings = _settings(index_dir=index_dir, top_k=top_k)
    engine = _engine(settings)
    _open(engine)
    batch = question == "-"
    questions = (((n, line.strip()) for n, line in enumerate(sys.stdin, start=1) if line.strip()) if batch
                 else [(1, question)])
    unasked = 0
    for number, (line_number, text) in enumerate(questions):
        # Machines get the engine's answer, whatever was asked.
        kind = None if as_json else small_talk(text, engine.multilingual)
        if kind is not None:
            _echo(small_talk_reply(kind, None))
            continue
        try:
            answer = engine.ask(text, settings.top_k)
        except EmptyQuestionError as error:
            # Each question gets one reply, on standard output too when it is JSON: a machine reads what was
            # wrong where it reads answers. One line without words does not cost the questions after it.
            if as_json:
                click.echo(json.dumps({"question": text, "error": str(error)}, ensure_ascii=False))
            if not batch:
                raise
            unasked += 1
            if not as_json:
                _echo(f"error: line {line_number}: {error}", err=True)
            continue
        for note in answer.notes:
            _echo(f"note: {note}", err=True)
        if as_json:
            click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            if question == "-":
                _echo(("\n" if number else "") + f"Q: {_asked(answer)}")
            click.echo(_format(engine, answer, settings, settings.top_k))
    if unasked:
        raise UserError(f"{unasked} of the questions held no words and were not asked", exit_code=2)


@cli.command()
@verbose_option
@top_k_option
@index_option
def chat(top_k: int | None, index_dir: Path | None) -> None:
    """Ask questions one after another (reads standard input to its end when it is not a terminal)."""
    settings = _settings(index_dir=index_dir, top_k=top_k)
    engine = _engine(settings)
    _open(engine)
    interactive = sys.stdin.isatty()
    k = settings.top_k
    warming = None
    if interactive:
        _start_line_editing()
        names = ", ".join(d.name for d in engine.describe().documents)
        greeting = f"citebot: ask about {names}. :help for help, :quit or Ctrl-D to leave."
        _echo("\n".join(fitted(greeting, _width())))
        # Load the model while the user types the first question (a failure is the first question's to report).
        warming = threading.Thread(target=_warm_up, args=(engine,), daemon=True)
        warming.start()
    interrupted = False
    while True:
        try:
            line = input("> ") if interactive else sys.stdin.readline()
        except EOFError:
            _echo()
            break
        except KeyboardInterrupt:
            # The first Ctrl-C clears the line being typed; a second one in a row leaves.
            _echo()
            if interrupted:
                break
            interrupted = True
            _echo(_("(Ctrl-C again, Ctrl-D or quit to leave)"))
            continue
        interrupted = False
        if not interactive and not line:
            break
        line = line.strip()
        if not line:
            continue
        if re.match(r"/[a-z]+(\s|$)", line):
            line = ":" + line[1:]  # a command written the way Telegram's are
        if line in (":quit", ":q", ":exit", "quit", "exit"):
            break
        if line in (":help", ":h", "?", "help"):
            _echo(_(CHAT_HELP).format(k=k))
            continue
        if line.startswith(":k"):
            value = line[2:].strip()
            # isdigit() also takes "²" and 5,000-digit numbers, which int() refuses: ASCII, two digits at most.
            if value.isascii() and value.isdigit() and len(value) <= 2 and 1 <= int(value) <= 20:
                k = int(value)
                _echo(ngettext("showing {k} passage an answer", "showing {k} passages an answer", k).format(k=k))
            else:
                _echo(_("usage: :k N, with N from 1 to 20"))
            continue
        if line.startswith(":"):
            _echo(_("unknown command {command}; :help lists the commands").format(command=line))
            continue
        kind = small_talk(line, engine.multilingual)
        if kind is not None:
            _echo(small_talk_reply(kind, None))
            continue
        try:
            answer = engine.ask(line, k)
        except EmptyQuestionError as error:
            _echo(str(error))
            continue
        if not interactive:
            _echo(f"Q: {_asked(answer)}")
        for note in answer.notes:
            _echo(f"note: {note}")
        click.echo(_format(engine, answer, settings, k) + "\n")
    if warming is not None:
        # Leaving while onnxruntime loads the model aborts the process ("terminate called without an active
        # exception"): its threads cannot be torn down mid-load.
        warming.join()


def _warm_up(engine: Engine) -> None:
    with contextlib.suppress(CitebotError):
        engine.warm_up()


@cli.command()
@verbose_option
@index_option
@click.option("--webhook", "webhook_url", metavar="URL", help="Take updates at this https URL instead of polling.")
@click.option("--listen", help="Address the webhook server binds (default 127.0.0.1).")
@click.option("--port", type=int, help="Port the webhook server binds (default 8443).")
@click.option("--secret-token", help="Secret Telegram must send with each webhook call (default: a random one).")
def telegram(
    index_dir: Path | None, webhook_url: str | None, listen: str | None, port: int | None, secret_token: str | None
) -> None:
    """Run the Telegram bot (token from TELEGRAM_BOT_TOKEN) until Ctrl-C."""
    from bot import telegram_api, telegram_bot

    settings = _settings(
        index_dir=index_dir,
        telegram_webhook_url=webhook_url,
        telegram_webhook_listen=listen,
        telegram_webhook_port=port,
        telegram_webhook_secret=secret_token,
    )
    check_telegram(settings)
    if settings.telegram_webhook_url and not settings.telegram_webhook_secret:
        settings = replace(settings, telegram_webhook_secret=secrets.token_urlsafe(32))
    telegram_api.protect_logs(settings.telegram_bot_token, settings.telegram_webhook_secret)
    engine = _engine(settings)
    _open(engine)
    username = telegram_api.verify_token(settings)
    mode = f"webhook {settings.telegram_webhook_url}" if settings.telegram_webhook_url else "long polling"
    _echo(f"citebot answers on Telegram as @{username} ({mode}); Ctrl-C stops it.", err=True)
    telegram_bot.run(telegram_bot.build_application(settings, engine), settings)


@cli.command("eval")
@verbose_option
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--out", type=click.File("w", encoding="utf-8"), help="Write one JSON result a question here.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--compare", is_flag=True, help="Score with and without the reranker, side by side.")
def eval_command(file: Path, out, as_json: bool, compare: bool) -> None:
    """Score retrieval on a QA file (JSON lines: doc_id, text, questions with q and answers)."""
    settings = _settings()

    def write(result: dict) -> None:
        if out is not None:
            out.write(json.dumps(result, ensure_ascii=False) + "\n")

    variants = [("reranked", True), ("first stage", False)] if compare else [("", settings.rerank)]
    reports = {
        name: _engine(replace(settings, rerank=rerank)).evaluate(file, write if not compare or rerank else None)
        for name, rerank in variants
    }
    if as_json:
        click.echo(json.dumps({n: r.__dict__ for n, r in reports.items()} if compare else reports[""].__dict__))
        return
    first = next(iter(reports.values()))
    _echo(
        f"{file}: {first.documents} document(s), {first.answerable} answerable and "
        f"{first.unanswerable} unanswerable question(s)"
    )
    if compare:
        _echo(f"  {'':24s} " + " ".join(f"{name:>11s}" for name in reports))
    for label, value in _eval_rows(first):
        if compare:
            cells = [dict(_eval_rows(r))[label] for r in reports.values()]
            _echo(f"  {label:24s} " + " ".join(_cell(c) for c in cells))
        else:
            _echo(f"  {label:24s} {value:.3f}" if isinstance(value, float) else f"  {label:24s} {value}")


def _eval_rows(report) -> list[tuple[str, object]]:
    return [
        ("hit@1", report.hit_at_1), ("hit@3", report.hit_at_3), ("hit@5", report.hit_at_5),
        ("MRR@5", report.mrr_at_5), ("highlight hit@1", report.highlight_hit_at_1),
        ("mean passage words", f"{report.mean_passage_words:.1f}"),
        ("hedged, answerable", report.hedged_answerable if report.answerable else "n/a"),
        ("abstained, answerable", report.abstained_answerable if report.answerable else "n/a"),
        ("hedged, unanswerable", report.hedged_unanswerable if report.unanswerable else "n/a"),
        ("abstained, unanswerable", report.abstained_unanswerable if report.unanswerable else "n/a"),
        ("quotes not verbatim", report.verbatim_errors),
        ("answer in first 150 ch.", report.answer_leads),
        ("bold sentences/answer", f"{report.emphasised_per_answer:.2f}"),
    ]


def _cell(value: object) -> str:
    return f"{value:11.3f}" if isinstance(value, float) else f"{value!s:>11s}"


@contextlib.contextmanager
def _progress_bar(shown: bool) -> Iterator[Progress | None]:
    """A bar on standard error for the sentences being embedded (nothing when it is not a terminal)."""
    if not shown:
        yield None
        return
    bar = None

    def advance(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Embedding sentences", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        yield advance
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _format(engine: Engine, answer: Answer, settings: Settings, k: int) -> str:
    """An answer as the terminal shows it: best sentence first, wrapped to the terminal when there is one."""
    verbose = click.get_current_context().find_root().obj["verbose"] > 0
    return format_answer(
        answer, engine.present(answer, k), answer.threshold, _styled(),
        names_sources(engine.document_count()), verbose, _width(),
    )


def _width() -> int | None:
    """The terminal's width to wrap to, None in a pipe."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def _start_line_editing() -> None:
    try:
        import readline
    except ImportError:
        return
    try:
        readline.read_history_file(HISTORY_FILE)
    except OSError:
        pass
    readline.set_history_length(1000)
    atexit.register(_save_history, readline)


def _save_history(readline) -> None:
    try:
        readline.write_history_file(HISTORY_FILE)
    except OSError:
        logger.debug("could not write %s", HISTORY_FILE)


def _styled() -> bool:
    return not click.utils.should_strip_ansi(sys.stdout)


def main() -> None:
    """Entry point of the citebot console script."""
    cli(prog_name="citebot")
