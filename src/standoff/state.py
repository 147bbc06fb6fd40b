"""Every member's state on a day, saved by a run, and runs that continue from it.

A run asked to save its state at day ``d`` (``simulate(..., save_state=d)``, ``standoff run
--save-state DATE``) stops each block of members at the start of day ``d``, copies every array
of the kernel's state (:mod:`standoff.layout`'s containers: stocks, markets, firms, shipments,
licences, goods trade, politics and the game, the accumulated outputs, the kept daily paths up
to ``d``) and goes on to its horizon as if nothing had happened.  A run given that state
(``simulate(..., resume=state)``, ``--resume FILE``) starts from it at day ``d``: the same days
in the same order with the same counter-based draws, so a resumed run is bit for bit the
uninterrupted one (``tests/test_state.py``), and the kernel's uninterrupted run is bit for bit
the reference's (``tests/test_reference.py``).

What may differ between the saving run and the resumed one is what happens from ``d`` on:
events dated ``d`` or later (scenario branching: the same world until 1 October, then two
policies).  Everything that decides the world before ``d`` must be the same, and is checked
member block by member block: the dataset, the seed, the members, the horizon, every drawn
input, the talks' settings and every timeline action (with its drawn values) before ``d``.
A state is saved with :meth:`SavedState.save` (one compressed ``.npz``) and read back with
:func:`load_state`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import StandoffError

#: Names of the containers :func:`standoff.core.engine.init_block` returns, in order.
CONTAINERS = ("net", "par", "stocks", "market", "sec", "ship", "ctrl", "goods", "pol", "acc", "paths", "scr")
FORMAT = "standoff-state-1"


@dataclass
class SavedState:
    """Every member's state at the start of day ``day`` of a run.

    ``blocks`` maps each kernel block's first member to its arrays (``container.field`` and
    ``initial``); ``digests`` maps it to the digest of what decided its world before ``day``.
    """

    day: int
    date: str
    scenario: str
    members: int
    blocks: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    digests: dict[int, str] = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        """Write the state to ``path`` (a compressed ``.npz``), whole or not at all."""
        import os
        path = Path(path)
        meta = {"format": FORMAT, "day": self.day, "date": self.date, "scenario": self.scenario,
                "members": self.members, "digests": {str(k): v for k, v in self.digests.items()}}
        arrays = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
        for first, arrs in self.blocks.items():
            for k, v in arrs.items():
                arrays[f"b{first}/{k}"] = v
        tmp = path.with_name(f".{path.name}.part-{os.getpid()}")
        try:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
            os.replace(tmp, path)  # whole or not at all
        except OSError as exc:
            raise StandoffError(f"cannot write the state ({exc.strerror or exc})", file=str(path)) from None
        finally:
            tmp.unlink(missing_ok=True)
        return path


def load_state(path: str | Path) -> SavedState:
    """Read a state written by :meth:`SavedState.save`.

    Raises
    ------
    StandoffError
        If the file is missing or is not a saved state, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise StandoffError("no such state file", file=str(path))
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            if meta.get("format") != FORMAT:
                raise ValueError(meta.get("format"))
            blocks: dict[int, dict[str, np.ndarray]] = {}
            for key in z.files:
                if key == "meta":
                    continue
                b, name = key.split("/", 1)
                blocks.setdefault(int(b[1:]), {})[name] = z[key]
    except StandoffError:
        raise
    except Exception as exc:  # a zip that is not ours, a truncated file, a wrong format
        raise StandoffError(f"not a standoff saved state ({type(exc).__name__})", file=str(path)) from None
    return SavedState(int(meta["day"]), meta["date"], meta["scenario"], int(meta["members"]), blocks,
                      {int(k): v for k, v in meta["digests"].items()})


def world_digest(pl: Any, first: int, inp: Any, nin: Any, tl: Any, day: int) -> str:
    """SHA-256 of what decides members ``first ..`` of plan ``pl`` before ``day``: the dataset
    (the kernel's network arrays), seed, horizon, kept paths, talks' settings, every drawn input
    but the events' values, and each timeline action dated before ``day`` with its drawn values."""
    h = hashlib.sha256()
    sc = pl.scenario
    h.update(repr((sc.seed, sc.horizon_days, min(sc.trajectories, sc.members), pl.neg_on,
                   pl.neg_start if pl.neg_on and pl.neg_start < day else -1, first)).encode())
    for arr in (*nin, *(getattr(inp, f) for f in inp._fields if f != "ev")):
        a = np.ascontiguousarray(arr)
        h.update(str((a.dtype, a.shape)).encode())
        h.update(a.tobytes())
    before = tl.day < day
    for name in ("day", "kind", "a0", "a1", "a2"):
        h.update(np.ascontiguousarray(getattr(tl, name)[before]).tobytes())
    h.update(np.ascontiguousarray(inp.ev[:, tl.col[before]]).tobytes())
    return h.hexdigest()


def snapshot(state: tuple) -> dict[str, np.ndarray]:
    """Copies of every array of a block's state (``engine.init_block``'s containers and ``initial``)."""
    out: dict[str, np.ndarray] = {}
    for name, box in zip(CONTAINERS, state[:-1]):
        for fld in box._fields:
            v = getattr(box, fld)
            if isinstance(v, np.ndarray) and v.flags.writeable:  # read-only: the dataset's constants
                out[f"{name}.{fld}"] = v.copy()
    out["initial"] = np.asarray(state[-1]).copy()
    return out


def restore(state: tuple, saved: dict[str, np.ndarray]) -> None:
    """Copy a saved block's arrays into a freshly set-up block's containers, in place."""
    for name, box in zip(CONTAINERS, state[:-1]):
        for fld in box._fields:
            v = getattr(box, fld)
            if isinstance(v, np.ndarray) and v.flags.writeable:
                src = saved.get(f"{name}.{fld}")
                if src is None or src.shape != v.shape or src.dtype != v.dtype:
                    raise StandoffError("the saved state does not fit this version of standoff or this dataset "
                                        f"(array {name}.{fld})", field="resume")
                np.copyto(v, src)
    np.copyto(state[-1], saved["initial"])
