"""Run folders on disk: unique names, atomic writes, and what a killed run leaves behind.

A run folder appears in one rename of a complete temporary folder, so a reader never sees a
half-written run.  The temporary folder is hidden beside its target (``.NAME.partial-...``)
and holds a ``.writer`` file with the writing process's id and host, so that a later run can
tell the folder of a killed writer (remove it) from one still being written by a live
process (leave it).  Every run folder's ``run.json`` carries the run's catalogue id and its
headline numbers, so a folder whose writer died before registering it can be adopted into
the catalogue without reading its results.

What a sweep may remove is only ever what standoff made and marked: a temporary folder with
standoff's name pattern *and* its ``.writer`` file, a replaced run's folder with its
``.replaced`` mark, or a reserved run folder holding nothing but its ``.reserved`` mark (each
naming a process on this host that no longer runs).  Outside a runs folder standoff made
(marked by :data:`ROOT_MARK`), only the temporary folders of the one output folder being
written are considered, so ``--out ~/myrun`` never touches anything else in ``~``.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import StandoffError

_PARTIAL = ".partial-"
_WRITER = ".writer"
#: The mark of a reserved, not yet written run folder (its writer's pid and host).
_RESERVED = ".reserved"
#: The mark of a run folder moved aside by ``--overwrite`` before its removal.
_REPLACED = ".replaced"
#: The mark of a runs folder that standoff made (where it may sweep what killed runs left).
ROOT_MARK = ".standoff-runs"
#: A temporary folder is ``.NAME.partial-`` and 8 hex digits (``old-`` before them for a replaced run).
_PARTIAL_RE = re.compile(r"^\.(?P<name>.+)\.partial-(?P<old>old-)?[0-9a-f]{8}$")


def writer_info() -> dict:
    """This process's id and host: written into run.json so adoption can tell a live writer's folder."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _writer_info() -> str:
    """A mark file's text: :func:`writer_info` and when the writing started."""
    return json.dumps({**writer_info(), "started": time.time()})


def _dead_writer(mark: Path) -> bool:
    """Whether the mark file names a process on this host that no longer runs (False if unreadable)."""
    try:
        w = json.loads(mark.read_text(encoding="utf-8"))
        return w.get("host") == socket.gethostname() and not _alive(int(w["pid"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def new_run_id() -> str:
    """A fresh catalogue id (10 hex digits)."""
    return uuid.uuid4().hex[:10]


def new_run_folder(root: str | Path, name: str, seed: int) -> Path:
    """Reserve a new, empty run folder ``root/NAME-TIME-sSEED`` (``-2``, ``-3``, ... if taken).

    The folder is created with an exclusive ``mkdir``, so runs started in the same second,
    even with the same seed, each get their own.  ``name`` must already be safe
    (:func:`standoff.scenario.safe_name`).
    """
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / ROOT_MARK).touch()
    except OSError as exc:
        raise StandoffError(f"cannot create the runs folder: {exc.strerror}", file=str(root)) from None
    stem = f"{name}-{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}-s{seed}"
    for k in range(1, 10_000):
        path = root / (stem if k == 1 else f"{stem}-{k}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise StandoffError(f"cannot create a run folder: {exc.strerror}", file=str(path)) from None
        # Marked, so that a run killed before writing leaves a folder a later sweep can tell from a user's.
        (path / _RESERVED).write_text(_writer_info(), encoding="utf-8")
        return path
    raise StandoffError("cannot find a free run folder name", file=str(root / stem))


def probe_writable(folder: Path, option: str) -> None:
    """Refuse, naming ``option``, a folder in which a run folder cannot be made (checked by making
    and removing a file there, creating the folder if need be)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".standoff-probe-{uuid.uuid4().hex[:8]}"
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise StandoffError(f"cannot write there: {exc.strerror or exc}", field=option, value=str(folder)) from None


def check_destination(out: Path, overwrite: bool, option: str | None = None) -> None:
    """Refuse an output path that is a file, or a non-empty folder (not merely reserved) unless
    ``overwrite``; the error names ``option`` (``--out``) when given, else the path as a file."""
    where = {"field": option, "value": str(out)} if option else {"file": str(out)}
    if out.exists() and not out.is_dir():
        raise StandoffError("output path exists and is not a folder", **where)
    if out.exists() and not _is_empty_dir(out) and not overwrite:
        # The command line has --overwrite; Python callers (Results.save) have overwrite=True.
        how = "use --overwrite" if option else "pass overwrite=True"
        raise StandoffError(f"output folder exists and is not empty ({how} to replace it)", **where)


def _is_empty_dir(p: Path) -> bool:
    """Empty, or reserved by :func:`new_run_folder` and not yet written."""
    return p.is_dir() and all(c.name == _RESERVED for c in p.iterdir())


@contextlib.contextmanager
def atomic_folder(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Write a folder atomically: yield a temporary folder, then rename it to ``out``.

    ``out`` may not exist or be an empty folder (a reserved one).  An existing non-empty
    ``out`` is replaced only if ``overwrite``; otherwise :class:`StandoffError`, checked
    both before the work and at the rename (another process may have written ``out``
    meanwhile; the rename itself refuses to replace a non-empty folder).  On any failure the
    temporary folder is removed and ``out`` is left as it was.
    """
    out = Path(out)
    check_destination(out, overwrite)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}{_PARTIAL}{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    except OSError as exc:
        raise StandoffError(f"cannot write the output folder: {exc.strerror}", file=str(out)) from None
    try:
        (tmp / _WRITER).write_text(_writer_info(), encoding="utf-8")
        yield tmp
        (tmp / _WRITER).unlink()
        if overwrite and out.exists() and not _is_empty_dir(out):
            trash = out.parent / f".{out.name}{_PARTIAL}old-{uuid.uuid4().hex[:8]}"
            (out / _REPLACED).write_text(_writer_info(), encoding="utf-8")
            os.replace(out, trash)
            os.replace(tmp, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                (out / _RESERVED).unlink()  # the reservation ends as the run moves in
            try:
                os.rename(tmp, out)  # replaces an empty folder, never a non-empty one
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    raise StandoffError("output folder was written by another run meanwhile; nothing was "
                                        "replaced (use another --out)", file=str(out)) from None
                raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


@dataclass
class Sweep:
    """What :func:`sweep_orphans` removed: folder names and bytes freed."""

    removed: list[str] = field(default_factory=list)
    bytes_freed: int = 0


def sweep_orphans(root: str | Path, name: str | None = None) -> Sweep:
    """Remove what runs killed mid-save left under ``root``: only what standoff made and marked.

    - a temporary folder (``.NAME.partial-xxxxxxxx``) whose ``.writer`` names a process on
      this host that no longer runs;
    - a replaced run moved aside by ``--overwrite`` (``.NAME.partial-old-xxxxxxxx`` holding
      its ``.replaced`` mark) whose writer no longer runs;
    - a reserved run folder holding nothing but its ``.reserved`` mark, whose writer no longer
      runs.

    In a folder without :data:`ROOT_MARK` (one standoff did not make, such as the parent of an
    ``--out`` a user chose) only the temporary folders of output folder ``name`` are
    considered, and nothing if ``name`` is not given.  A writer that is alive, or on another
    host, is left alone; so is anything without standoff's marks, whatever its name or age.
    """
    root = Path(root)
    out = Sweep()
    if not root.is_dir():
        return out
    ours = (root / ROOT_MARK).is_file()
    if not ours and name is None:
        return out
    for p in root.iterdir():
        try:
            if p.is_symlink() or not p.is_dir():
                continue
            m = _PARTIAL_RE.match(p.name)
            orphan = False
            if m and (ours or m.group("name") == name):
                mark = p / (_REPLACED if m.group("old") else _WRITER)
                orphan = mark.is_file() and _dead_writer(mark)
            elif ours and not p.name.startswith("."):
                kids = list(p.iterdir())
                orphan = len(kids) == 1 and kids[0].name == _RESERVED and _dead_writer(kids[0])
            if not orphan:
                continue
            size = _size(p)
            shutil.rmtree(p)
        except OSError:
            continue
        out.removed.append(p.name)
        out.bytes_freed += size
    return out


def read_run_json(folder: str | Path) -> dict | None:
    """A complete run folder's ``run.json`` as a dict, or ``None`` if the folder is not a run."""
    from .files import MAX_META_BYTES, read_bounded
    try:
        meta = json.loads(read_bounded(Path(folder) / "run.json", MAX_META_BYTES, "run.json").decode("utf-8"))
    except (StandoffError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None
