"""Replacing a directory whole, safely: refuse what is not provably ours, stage beside it, swap atomically.

A build writes the new directory to a staging folder next to the old one (holding a lock on it while it
writes), then exchanges the two with one rename, so readers see the old directory or the new one, whole.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from embeddings.errors import IndexWriteError, NotAnIndexError

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def check_replaceable(directory: Path, inputs: tuple[str, ...] | list[Path] = ()) -> None:
    """Refuse to build into directory unless citebot can prove that replacing it loses nothing.

    Building replaces the whole directory, so it must be absent, empty, or hold an index of citebot's and
    nothing else: its manifest and exactly the files the manifest lists. A directory that holds an input,
    or lies inside one, is refused too (the build would index itself, or replace what it reads).

    Raises:
        NotAnIndexError: anything else; the message names the directory.
    """
    directory = Path(directory)
    if directory.is_symlink():
        raise NotAnIndexError(f"{directory} is a symbolic link: name the real directory for the index")
    resolved = directory.resolve()
    for given in inputs:
        source = Path(given).resolve()
        if source == resolved or source.is_relative_to(resolved) or resolved.is_relative_to(source):
            raise NotAnIndexError(
                f"{directory} cannot hold the index: it overlaps the input {given} (one is or holds the other); "
                "name a directory of its own with --index"
            )
    if not directory.exists():
        return
    if not directory.is_dir():
        raise NotAnIndexError(f"{directory} is a file, not an index directory: name another with --index")
    found = {path.relative_to(directory).as_posix() for path in directory.rglob("*")}
    if not found:
        return
    listed = _listed_files(directory)
    if listed is None:
        raise NotAnIndexError(
            f"{directory} is not a citebot index (it has no readable {MANIFEST}) and is not empty: "
            "citebot will not replace it; name an empty or new directory with --index"
        )
    folders = {parent.as_posix() for name in listed for parent in Path(name).parents if parent != Path(".")}
    others = sorted(found - listed - folders - {MANIFEST})
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise NotAnIndexError(
            f"{directory} holds files that are not part of its index ({shown}): citebot will not replace it; "
            "move them out or name another directory with --index"
        )


def _listed_files(directory: Path) -> set[str] | None:
    """The file names an index manifest in directory lists, or None when there is no readable manifest."""
    path = directory / MANIFEST
    if path.is_symlink() or not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        return {str(name) for name in files} if isinstance(files, dict) else None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None


def hold(staging: Path) -> int:
    """Lock a staging directory for as long as this process writes it; returns the descriptor to close."""
    descriptor = os.open(staging, os.O_RDONLY)
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return descriptor


def remove_abandoned_staging(directory: Path) -> None:
    """Delete the staging directories that killed builds left beside the index at directory.

    A build holds a lock on its staging directory, which the system drops when the build dies; a process
    id alone would not do, since ids are reused (within minutes on a busy machine).
    """
    for staging in directory.parent.glob(f".{directory.name}.tmp-*"):
        try:
            descriptor = os.open(staging, os.O_RDONLY)
        except OSError:
            continue  # gone meanwhile
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a build is writing it
        finally:
            os.close(descriptor)
        shutil.rmtree(staging, ignore_errors=True)


def swap_into_place(staging: Path, directory: Path) -> None:
    """Move staging to directory; an existing directory ends up at staging, once no one is reading it."""
    if not directory.exists():
        os.rename(staging, directory)
        _fsync_dir(directory.parent)
        return
    current = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(current, fcntl.LOCK_EX)  # readers hold it shared while they read
        _replace(staging, directory)
    finally:
        os.close(current)


def _replace(staging: Path, directory: Path) -> None:
    if not _exchange(staging, directory):
        # No atomic exchange on this system: two renames, with a short window without an index.
        aside = staging.with_name(staging.name + "-old")
        os.rename(directory, aside)
        os.rename(staging, directory)
        with contextlib.suppress(FileNotFoundError):  # another build cleaned it up first
            os.rename(aside, staging)
    _fsync_dir(directory.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux renameat2(RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    logger.debug("renameat2 failed with errno %d", ctypes.get_errno())
    return False


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def writers_turn(directory: Path) -> Iterator[None]:
    """Wait for this process's turn to rewrite directory: writers take turns across processes, so none
    builds on what another is about to replace (flock on the parent folder: no lock file is left behind,
    and indexes that share a folder take turns too)."""
    parent = Path(directory).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(parent, os.O_RDONLY)
    except OSError as error:
        raise IndexWriteError(f"cannot write an index in {parent}: {error.strerror or error}") from error
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def reading(directory: Path) -> Iterator[None]:
    """Read directory whole: a swap waits until the reading is done (readers wait only for a swap).

    The lock is on the directory itself; one that was swapped away between opening and locking it is let
    go and the new one taken.
    """
    for _ in range(100):
        try:
            descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:  # nothing there (or not a directory): the reader says so itself
            yield
            return
        fcntl.flock(descriptor, fcntl.LOCK_SH)
        try:
            now = os.stat(directory)
        except OSError:
            now = None
        held = os.fstat(descriptor)
        if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            break
        os.close(descriptor)
    else:
        raise IndexWriteError(f"{directory} keeps being replaced; try again")
    try:
        yield
    finally:
        os.close(descriptor)
