"""The run catalogue: an embedded DuckDB file registering every run.

Each run is a row with its id, time, scenario name and digest, seed, members, standoff
version, folder and headline metrics; ``streamed`` marks runs that kept summaries only (no
per-member results to load back).  DuckDB lets one process write at a time, so a writer
that finds the file locked waits and retries: concurrent runs all get registered.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import duckdb
import pandas as pd

from typing import TYPE_CHECKING

from .errors import StandoffError
from .runstore import new_run_id, read_run_json

if TYPE_CHECKING:  # results (xarray, scipy) are imported where a run is read or registered
    from .results import Results, StreamingSummary

DEFAULT_PATH = Path(os.environ.get("STANDOFF_CATALOGUE", "runs/catalogue.duckdb"))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id VARCHAR PRIMARY KEY,
    created TIMESTAMP,
    scenario VARCHAR,
    scenario_digest VARCHAR,
    seed BIGINT,
    members BIGINT,
    negotiate BOOLEAN,
    version VARCHAR,
    path VARCHAR,
    p_stockout_lead DOUBLE,
    median_stockout_day_lead DOUBLE,
    median_loss_lead_bn DOUBLE,
    median_pain_us_bn DOUBLE,
    median_pain_cn_bn DOUBLE,
    p_truce_survives_90d DOUBLE,
    metrics JSON
);
ALTER TABLE runs ADD COLUMN IF NOT EXISTS streamed BOOLEAN DEFAULT false;
"""
#: Columns renamed since (their first names named one dataset's region and sector; they hold the
#: US side's lead sector of any dataset): old catalogues are migrated on writing, read either way.
RENAMED = {"p_stockout_usa_autos": "p_stockout_lead", "median_stockout_day_usa_autos": "median_stockout_day_lead",
           "median_loss_usa_autos_bn": "median_loss_lead_bn"}
_HEADLINE = ("p_stockout_lead", "median_stockout_day_lead", "median_loss_lead_bn", "median_pain_us_bn",
             "median_pain_cn_bn", "p_truce_survives_90d")
_COLUMNS = ("id", "created", "scenario", "scenario_digest", "seed", "members", "negotiate", "version", "path",
            "p_stockout_lead", "median_stockout_day_lead", "median_loss_lead_bn", "median_pain_us_bn",
            "median_pain_cn_bn", "p_truce_survives_90d", "metrics", "streamed")


class Catalogue:
    """A DuckDB file of runs.  ``Catalogue().list()`` is a pandas table."""

    def __init__(self, path: str | Path | None = None, timeout_s: float = 60.0) -> None:
        self.path = Path(path) if path is not None else DEFAULT_PATH
        self.timeout_s = timeout_s

    def _connect(self, read_only: bool = False):
        import duckdb
        if self.path.exists() and self.path.is_dir():
            raise StandoffError("the run catalogue must be a file, not a folder", file=str(self.path))
        if read_only and not self.path.exists():
            raise StandoffError("no run catalogue yet (run `standoff run` first)", file=str(self.path))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StandoffError(f"cannot create the catalogue's folder: {exc.strerror}", file=str(self.path)) from None
        deadline = time.monotonic() + self.timeout_s
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                if not read_only:
                    con.execute(_SCHEMA)
                    have = {r[1] for r in con.execute("PRAGMA table_info('runs')").fetchall()}
                    for old, new in RENAMED.items():
                        if old in have and new not in have:
                            con.execute(f"ALTER TABLE runs RENAME COLUMN {old} TO {new}")
                return con
            except duckdb.IOException as exc:
                # Only another process's lock is worth waiting for; a file that is not a
                # database, or a folder we may not write, will not get better.
                if "lock" not in str(exc).lower():
                    raise StandoffError(f"cannot open the run catalogue: {exc}", file=str(self.path)) from None
                if time.monotonic() > deadline:
                    raise StandoffError(f"catalogue is locked by another process: {exc}", file=str(self.path)) from None
                time.sleep(delay)
                delay = min(delay * 1.5, 1.0)
            except duckdb.Error as exc:
                raise StandoffError(f"cannot open the run catalogue: {exc}", file=str(self.path)) from None

    def check(self) -> None:
        """Open the catalogue for writing once (creating it), so a run finds a fault before it simulates."""
        self._connect().close()

    def register(self, res: Results | StreamingSummary, folder: str | Path) -> str:
        """Add a saved run (full results, or the summaries of a streamed run); returns its id.

        The id is the one the run folder's ``run.json`` records, so registering a folder
        twice (a run that registers itself after :meth:`adopt` found it) adds one row.
        """
        from .results import StreamingSummary, package_version
        meta = read_run_json(folder) or {}
        streamed = isinstance(res, StreamingSummary)
        sc = res.scenario
        row = {"run_id": meta.get("run_id") or getattr(res, "run_id", None) or new_run_id(),
               "scenario": sc.name, "scenario_digest": sc.digest(), "seed": sc.seed,
               "members": res.members if streamed else sc.members, "negotiate": sc.negotiation.enabled,
               "standoff_version": package_version() if streamed else str(res.ds.attrs.get("standoff_version")),
               "headline": meta.get("headline") or res.headline_metrics(), "streamed": streamed}
        return self._insert(row, folder)

    def _insert(self, meta: dict, folder: str | Path) -> str:
        m = {RENAMED.get(k, k): v for k, v in meta["headline"].items()}  # a run.json of an older version too
        run_id = str(meta["run_id"])
        if not (run_id.isascii() and run_id.isalnum()):
            raise ValueError(f"run id {run_id!r} is not letters and digits")
        for key in _HEADLINE:
            v = m.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ValueError(f"headline {key} is {v!r}, not a number")
        path = str(Path(folder).resolve())
        con = self._connect()
        try:
            # A folder holds one run: a run written over another (--overwrite) replaces its row,
            # so the old id cannot open the new results and the list shows the new headline.
            con.execute("DELETE FROM runs WHERE path = ? AND id <> ?", [path, run_id])
            con.execute(
                f"INSERT OR IGNORE INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                [run_id, dt.datetime.now(), meta["scenario"], meta["scenario_digest"], int(meta["seed"]),
                 int(meta["members"]), bool(meta.get("negotiate", False)), str(meta.get("standoff_version")),
                 path,
                 m["p_stockout_lead"], m["median_stockout_day_lead"], m["median_loss_lead_bn"],
                 m["median_pain_us_bn"], m["median_pain_cn_bn"], m["p_truce_survives_90d"], json.dumps(m),
                 bool(meta.get("streamed", False))])
        finally:
            con.close()
        return run_id

    def adopt(self, root: str | Path) -> list[tuple[str, Path]]:
        """Register the complete run folders directly under ``root`` that the catalogue lacks.

        A run killed between writing its folder and registering it leaves such a folder.
        Only folders whose ``run.json`` carries an id and headline numbers (written by this
        version) are adopted; returns (id, folder) for each.
        """
        root = Path(root)
        if not root.is_dir():
            return []
        if self.path.exists():
            con = self._connect(read_only=True)
            try:
                known = {r[0] for r in con.execute("SELECT id FROM runs").fetchall()}
            finally:
                con.close()
        else:
            known = set()
        adopted = []
        for p in sorted(root.iterdir()):
            if p.name.startswith(".") or not p.is_dir():
                continue
            meta = read_run_json(p)
            if not meta or not meta.get("run_id") or not isinstance(meta.get("headline"), dict):
                continue
            if meta["run_id"] in known:
                continue
            if not ((p / "results.nc").exists() or meta.get("streamed")):
                continue
            if _live_writer(meta.get("writer")):
                continue  # another run is saving or registering it right now
            try:
                adopted.append((self._insert(meta, p), p))
            except (KeyError, TypeError, ValueError, AttributeError, duckdb.Error):
                continue  # a run.json someone edited: leave the folder as it is, and go on
        return adopted

    def remove(self, run_id: str) -> None:
        """Forget one run (its row only; :func:`prune_candidates` and ``standoff runs prune`` decide
        what may be deleted from disk)."""
        con = self._connect()
        try:
            con.execute("DELETE FROM runs WHERE id = ?", [run_id])
        finally:
            con.close()

    def list(self) -> pd.DataFrame:
        """All runs, newest first."""
        con = self._connect(read_only=True)
        try:
            return con.execute("SELECT * EXCLUDE (metrics) FROM runs ORDER BY created DESC").df().rename(columns=RENAMED)
        finally:
            con.close()

    def get(self, run_id: str) -> pd.Series:
        """One run's row; ids may be abbreviated to a unique prefix."""
        con = self._connect(read_only=True)
        # Matched as a literal prefix (starts_with, not LIKE): "%" or "_" in an id are no wildcards.
        if not (run_id and run_id.isascii() and run_id.isalnum()):
            con.close()
            raise StandoffError("run ids are letters and digits (see `standoff runs list`)", file=str(self.path),
                                value=run_id)
        try:
            df = con.execute("SELECT * FROM runs WHERE starts_with(id, ?)", [run_id]).df().rename(columns=RENAMED)
        finally:
            con.close()
        if len(df) == 0:
            raise StandoffError("no run with this id in the catalogue", file=str(self.path), value=run_id)
        if len(df) > 1:
            raise StandoffError("ambiguous run id prefix", file=str(self.path), value=run_id)
        return df.iloc[0]

    def load(self, run_id: str) -> Results:
        """The run's results (pandas / xarray), read from its folder.

        Raises
        ------
        StandoffError
            If the folder now holds another run (its run.json names another id).
        """
        row = self.get(run_id)
        from .results import Results
        res = Results.load(row["path"])  # a streamed run's folder says it has no results
        if res.run_id is not None and res.run_id != row["id"]:
            raise StandoffError(f"run {row['id']}'s folder now holds another run ({res.run_id}); the catalogue row is "
                                "stale", file=str(row["path"]), value=run_id)
        return res


def _live_writer(writer: object) -> bool:
    """Whether run.json's ``writer`` names a process on this host that still runs."""
    import socket

    from .runstore import _alive
    if not isinstance(writer, dict):
        return False
    try:
        return writer.get("host") == socket.gethostname() and int(writer["pid"]) != os.getpid() \
            and _alive(int(writer["pid"]))
    except (KeyError, TypeError, ValueError):
        return False


def resolve_run(ref: str, catalogue: Catalogue | None = None) -> Results:
    """A run from a folder path or a catalogue id."""
    p = Path(ref)
    if p.exists():
        from .results import Results
        return Results.load(p)
    return (catalogue or Catalogue()).load(ref)


#: What standoff writes into a run folder: a folder holding anything else is somebody's, and
#: ``standoff runs prune`` leaves it alone.
RUN_FILES = {"results.nc", "paths.nc", "scenario.yaml", "run.json", "summary", "report"}


def _ours(folder: Path) -> bool:
    for p in folder.iterdir():
        if p.name in RUN_FILES:
            continue
        if p.is_file() and p.suffix == ".csv":  # a streamed run's summaries
            continue
        return False
    return True


def prune_candidates(cat: Catalogue, keep: int) -> pd.DataFrame:
    """The catalogue's runs beyond the newest ``keep``, each with what pruning would do: ``delete``
    (a run folder inside the catalogue's own folder, holding only what standoff writes, whose
    run.json names this run), ``forget`` (only the row goes: the folder is gone, or lies outside
    the catalogue's folder, where a person put it with ``--out``, so it is left for them) or
    ``keep`` with the reason (the folder holds other files, or another run, or is not a folder)."""
    df = cat.list()
    home = cat.path.resolve().parent
    rows = []
    for _, r in df.iloc[max(keep, 0):].iterrows():
        folder = Path(str(r["path"]))
        size = 0
        if not folder.exists():
            action, why = "forget", "the folder is gone"
        elif not folder.resolve().is_relative_to(home):
            action, why = "forget", f"outside {home}: the folder is left where it was put"
        elif not folder.is_dir():
            action, why = "keep", "not a folder"
        elif (read_run_json(folder) or {}).get("run_id") != r["id"]:
            action, why = "keep", "its run.json names another run"
        elif not _ours(folder):
            action, why = "keep", "it holds files standoff did not write"
        else:
            action, why = "delete", ""
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        rows.append({"id": r["id"], "created": r["created"], "scenario": r["scenario"], "path": str(folder),
                     "action": action, "why": why, "mib": size / 2**20})
    return pd.DataFrame(rows, columns=["id", "created", "scenario", "path", "action", "why", "mib"])

