"""Reading files a user names: only regular files, and never more than a bound.

``st_size`` is no bound: ``/dev/zero`` and ``/dev/urandom`` report 0 bytes and never end, and
opening a FIFO blocks until something writes to it.  So every file standoff reads on a
user's word (scenarios, dataset tables, a run folder's files) is first checked to be a regular
file (after following symlinks), then read with a byte limit, and a file over the limit is
refused with its name.
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import StandoffError

if TYPE_CHECKING:
    import pandas as pd

#: Largest table of a dataset read, in bytes (the built-in ones are a few kB each).
MAX_TABLE_BYTES = 20_000_000
#: Largest run.json read (a few kB in practice).
MAX_META_BYTES = 5_000_000


def check_regular(path: str | Path, what: str = "file") -> Path:
    """``path`` if it is a regular file (symlinks followed); otherwise a :class:`StandoffError`
    naming it and what it is instead (a device, a FIFO, a folder)."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise StandoffError(f"no such {what}", file=str(path)) from None
    except OSError as exc:
        raise StandoffError(f"cannot read the {what}: {exc.strerror}", file=str(path)) from None
    if not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else
                "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "not a regular file")
        raise StandoffError(f"the {what} must be a regular file, and this is {kind}", file=str(path))
    return path


def read_bounded(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The bytes of regular file ``path``, refusing it if it holds more than ``limit`` bytes."""
    path = check_regular(path, what)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise StandoffError(f"cannot read the {what}: {exc.strerror}", file=str(path)) from None
    if len(data) > limit:
        raise StandoffError(f"the {what} holds more than {limit / 1e6:g} MB; that is more than a {what} of standoff "
                            "can be", file=str(path))
    return data


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a regular file's bytes, read in blocks (a run's results can be hundreds of MB)."""
    path = check_regular(path)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: First characters that make a spreadsheet read a cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(df: "pd.DataFrame") -> "pd.DataFrame":
    """``df`` with every text cell that a spreadsheet would run as a formula prefixed by ``'``.

    Names come from users' scenario files and datasets (a region called ``=HYPERLINK(...)``);
    numbers are left alone, so a negative number stays a number.
    """
    from pandas.api.types import is_object_dtype, is_string_dtype
    out = df.copy()
    for col in out.columns:
        if is_object_dtype(out[col]) or is_string_dtype(out[col]):
            out[col] = [("'" + v) if isinstance(v, str) and v.startswith(_FORMULA_START) else v for v in out[col]]
    renamed = {c: "'" + c for c in out.columns if isinstance(c, str) and c.startswith(_FORMULA_START)}
    return out.rename(columns=renamed) if renamed else out


def write_csv(df: "pd.DataFrame", path: str | Path) -> None:
    """Write ``df`` as CSV (no index) with formula-looking text escaped (:func:`csv_safe`)."""
    csv_safe(df).to_csv(path, index=False)
