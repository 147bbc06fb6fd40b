"""Run folders on disk: unique names, atomic writes, and what a killed run leaves behind.

A run folder appears in one rename of a complete temporary folder, so a reader never sees a
half-written run.  The temporary folder is hidden beside its target (``.NAME.partial-...``)
and holds a ``.writer`` file with the writing process's id and host, so that a later run can
tell the folder of a killed writer (remove it) from one still being written by a live
process (leave it).  Every run folder's ``run.json`` carries the run's catalogue id and its
headline numbers, so a folder whose writer died before registering it can be adopted into
the catalogue without reading its results.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
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
#: A hidden temporary folder of an older standoff (no ``.writer`` file) is taken as orphaned after this long.
LEGACY_ORPHAN_AGE_S = 3600.0


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
    root.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}-s{seed}"
    for k in range(1, 10_000):
        path = root / (stem if k == 1 else f"{stem}-{k}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise StandoffError("cannot find a free run folder name", file=str(root / stem))


def _is_empty_dir(p: Path) -> bool:
    return p.is_dir() and not any(p.iterdir())


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
    if out.exists() and not out.is_dir():
        raise StandoffError("output path exists and is not a folder", file=str(out))
    if out.exists() and not _is_empty_dir(out) and not overwrite:
        raise StandoffError("output folder exists and is not empty (use --overwrite to replace it)", file=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}{_PARTIAL}{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        (tmp / _WRITER).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                               "started": time.time()}), encoding="utf-8")
        yield tmp
        (tmp / _WRITER).unlink()
        if overwrite and out.exists() and not _is_empty_dir(out):
            trash = out.parent / f".{out.name}{_PARTIAL}old-{uuid.uuid4().hex[:8]}"
            os.replace(out, trash)
            os.replace(tmp, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
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


def sweep_orphans(root: str | Path) -> Sweep:
    """Remove temporary folders under ``root`` left by writers that died (killed mid-save).

    A temporary folder whose ``.writer`` names a process on this host that no longer runs is
    removed; one whose writer is alive, or on another host, is left alone.  Hidden temporary
    folders of older versions (no ``.writer``) are removed once older than an hour.
    """
    root = Path(root)
    out = Sweep()
    if not root.is_dir():
        return out
    host = socket.gethostname()
    for p in root.iterdir():
        if not (p.name.startswith(".") and p.is_dir()):
            continue
        writer = p / _WRITER
        orphan = False
        if _PARTIAL in p.name and writer.exists():
            try:
                w = json.loads(writer.read_text(encoding="utf-8"))
                orphan = w.get("host") == host and not _alive(int(w["pid"]))
            except (OSError, ValueError, KeyError, TypeError):
                orphan = time.time() - p.stat().st_mtime > LEGACY_ORPHAN_AGE_S
        elif _PARTIAL in p.name and "old-" in p.name:
            orphan = time.time() - p.stat().st_mtime > 60.0  # a replaced run whose removal was cut short
        elif (p / "run.json").exists() or (p / "results.nc").exists() or (p / "summary").is_dir() \
                or _is_empty_dir(p):
            # an older standoff's temporary folder (tempfile.mkdtemp(prefix=".NAME."))
            orphan = time.time() - p.stat().st_mtime > LEGACY_ORPHAN_AGE_S
        if orphan:
            try:
                size = _size(p)
                shutil.rmtree(p)
            except OSError:
                continue
            out.removed.append(p.name)
            out.bytes_freed += size
    return out


def read_run_json(folder: str | Path) -> dict | None:
    """A complete run folder's ``run.json`` as a dict, or ``None`` if the folder is not a run."""
    try:
        meta = json.loads((Path(folder) / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None
