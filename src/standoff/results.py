"""Results: a labelled xarray Dataset plus summary tables, saved atomically.

Member-level outputs have a ``member`` dimension; daily paths of the first
``scenario.trajectories`` members have ``traj_member`` and ``time``.  Summaries report
medians and the p10-p90 range across members.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from . import engine
from .ensemble import OUTPUT_SHAPES, TRAJ_SHAPES, Chunk, Plan
from .errors import StandoffError
from .scenario import Scenario, scenario_from_dict

UNITS = {
    "first_stockout_day": "day of the horizon, 0 = scenario start (NaN: no stockout)",
    "output_loss_usd_bn": "US$ bn, cumulative",
    "units_lost": "units of the sector's product (see sectors table)",
    "peak_price_multiple": "x baseline price",
    "defense_readiness_min": "lowest 30-day mean share of defense requirement met",
    "pain_usd_bn": "US$ bn, cumulative",
    "re_trade_t": "t, cumulative (lost: below baseline imports; diverted: from other suppliers)",
    "goods_trade_usd_bn": "US$ bn, cumulative",
    "material_balance_t": "t (final - initial - produced + consumed; zero when conserved)",
    "cover_days": "days of baseline requirement held by the sector",
    "output_fraction": "share of requirement met",
    "price_multiple": "x baseline price",
    "imports_t": "t/day arriving",
    "pain_cum_usd_bn": "US$ bn, cumulative",
}


def assemble(pl: Plan, parts: list[Chunk]) -> xr.Dataset:
    """Join chunk outputs (any order) into one Dataset."""
    parts = sorted(parts, key=lambda c: c.start)
    net, sc = pl.net, pl.scenario
    coords = {"region": net.regions, "sector": net.sectors, "product": net.products, "side": ["US", "CN"],
              "pain_kind": list(engine.PAIN_KINDS), "flow_kind": ["lost", "diverted"],
              "goods_kind": ["imports_lost", "exports_lost"]}
    data: dict[str, tuple] = {}
    for name, dims in OUTPUT_SHAPES.items():
        arr = np.concatenate([c.arrays[name] for c in parts])
        data[name] = (("member", *dims), arr, {"units": UNITS[name]})
    T = sc.horizon_days
    times = pd.date_range(sc.start, periods=T, freq="D")
    for name, dims in TRAJ_SHAPES.items():
        arr = np.concatenate([c.arrays[f"traj:{name}"] for c in parts])
        data[name] = (("traj_member", "time", *dims), arr, {"units": UNITS[name]})
    inputs = pl.uncertain_inputs()
    data["inputs"] = (("member", "input"), np.concatenate([c.arrays["inputs"] for c in parts]),
                      {"description": "sampled value of each uncertain input"})
    ds = xr.Dataset(data, coords={**coords, "member": np.arange(sc.members), "time": times,
                                  "traj_member": np.arange(data["cover_days"][1].shape[0]),
                                  "input": [u.key for u in inputs]})
    ds["demand_t_per_day"] = (("region", "sector"), net.demand, {"units": "t/day baseline requirement"})
    ds.attrs.update({"scenario": sc.name, "seed": sc.seed, "members": sc.members, "start": str(sc.start),
                     "horizon_days": T, "scenario_digest": sc.digest(), "standoff_version": _version()})
    return ds


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("standoff")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def _q(x: np.ndarray, q: float) -> float:
    """Quantile that treats ``inf`` (never) as larger than any day, without NaN from inf - inf."""
    if not x.size:
        return float("nan")
    big = 1e12
    v = float(np.quantile(np.where(np.isfinite(x), x, big), q))
    return float("inf") if v >= big / 2 else v


class Results:
    """The outcome of :func:`standoff.simulate`: a Dataset and summary tables.

    Attributes
    ----------
    ds
        The labelled arrays (see ``ds.data_vars`` for names and units).
    scenario
        The resolved scenario that was run.
    """

    def __init__(self, ds: xr.Dataset, scenario: Scenario) -> None:
        self.ds = ds
        self.scenario = scenario

    # ---- summaries ----
    def stockouts(self) -> pd.DataFrame:
        """First-stockout day per region and sector: share of members with a stockout, median, p10, p90.

        Members without a stockout count as never (``inf``), so a median of ``inf`` means
        fewer than half the members ran out within the horizon.
        """
        rows = []
        d = self.ds["first_stockout_day"].values
        dem = self.ds["demand_t_per_day"].values
        for r, reg in enumerate(self.ds.region.values):
            for s, sec in enumerate(self.ds.sector.values):
                if dem[r, s] <= 0:
                    continue
                x = np.where(np.isnan(d[:, r, s]), np.inf, d[:, r, s])
                rows.append({"region": reg, "sector": sec, "p_stockout": float(np.isfinite(x).mean()),
                             "p10_day": _q(x, 0.1), "median_day": _q(x, 0.5), "p90_day": _q(x, 0.9)})
        df = pd.DataFrame(rows)
        start = pd.Timestamp(self.scenario.start)
        df["median_date"] = [start + pd.Timedelta(days=v) if np.isfinite(v) else pd.NaT for v in df["median_day"]]
        return df

    def _band(self, name: str, dims: tuple[str, ...]) -> pd.DataFrame:
        da = self.ds[name]
        q = da.quantile([0.1, 0.5, 0.9], dim="member")
        df = q.to_dataframe(name=name).reset_index().pivot_table(index=list(dims), columns="quantile", values=name)
        df.columns = ["p10", "median", "p90"]
        return df.reset_index()

    def losses(self) -> pd.DataFrame:
        """Cumulative output loss (US$ bn) and units lost per region and sector."""
        a = self._band("output_loss_usd_bn", ("region", "sector"))
        b = self._band("units_lost", ("region", "sector")).rename(
            columns={"p10": "units_p10", "median": "units_median", "p90": "units_p90"})
        return a.merge(b, on=["region", "sector"])

    def prices(self) -> pd.DataFrame:
        """Peak price multiple per region and product."""
        return self._band("peak_price_multiple", ("region", "product"))

    def pain(self) -> pd.DataFrame:
        """Cumulative pain per side and kind (US$ bn)."""
        return self._band("pain_usd_bn", ("side", "pain_kind"))

    def trade(self) -> pd.DataFrame:
        """Rare-earth imports lost and diverted per product and region (t)."""
        return self._band("re_trade_t", ("product", "region", "flow_kind"))

    def goods(self) -> pd.DataFrame:
        """Goods trade lost per side (US$ bn): imports and exports."""
        return self._band("goods_trade_usd_bn", ("side", "goods_kind"))

    def readiness(self) -> pd.DataFrame:
        """Lowest 30-day defense readiness per region."""
        return self._band("defense_readiness_min", ("region",))

    def summary(self) -> dict[str, pd.DataFrame]:
        """All summary tables by name."""
        return {"stockouts": self.stockouts(), "losses": self.losses(), "prices": self.prices(),
                "pain": self.pain(), "trade": self.trade(), "goods": self.goods(), "readiness": self.readiness()}

    # ---- files ----
    def save(self, out: str | Path, overwrite: bool = False) -> Path:
        """Write ``results.nc``, ``summary/*.csv``, ``scenario.yaml`` and ``run.json`` into ``out``.

        The files are written into a temporary folder beside ``out`` and moved into place in
        one rename, so a failure never leaves a half-written run.
        """
        out = Path(out)
        if out.exists() and any(out.iterdir()) and not overwrite:
            raise StandoffError("output folder exists and is not empty (use --overwrite to replace it)",
                                file=str(out))
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            self.ds.to_netcdf(tmp / "results.nc", engine="h5netcdf")
            (tmp / "summary").mkdir()
            for name, df in self.summary().items():
                df.to_csv(tmp / "summary" / f"{name}.csv", index=False)
            (tmp / "scenario.yaml").write_text(self.scenario.to_yaml(), encoding="utf-8")
            meta = {k: (v.item() if hasattr(v, "item") else v) for k, v in self.ds.attrs.items()}
            meta["created"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            (tmp / "run.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
            if out.exists():
                trash = out.with_name(f".{out.name}.old")
                if trash.exists():
                    shutil.rmtree(trash)
                os.replace(out, trash)
                os.replace(tmp, out)
                shutil.rmtree(trash)
            else:
                os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out

    @classmethod
    def load(cls, folder: str | Path) -> "Results":
        """Read a run folder written by :meth:`save`."""
        import yaml
        folder = Path(folder)
        need = ["results.nc", "scenario.yaml", "run.json"]
        for n in need:
            if not (folder / n).exists():
                raise StandoffError(f"not a complete standoff run folder (missing {n})", file=str(folder))
        try:
            ds = xr.load_dataset(folder / "results.nc", engine="h5netcdf")
        except Exception as exc:
            raise StandoffError(f"cannot read results: {exc}", file=str(folder / "results.nc")) from None
        sc = scenario_from_dict(yaml.safe_load((folder / "scenario.yaml").read_text()), str(folder / "scenario.yaml"))
        return cls(ds, sc)
