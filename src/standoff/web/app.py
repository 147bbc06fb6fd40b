"""FastAPI app: pick or upload a scenario, move levers, run with live progress, see charts and
numbers, compare with the baseline or an earlier run, download results.

No path from the user is ever read or written: uploads are YAML text, runs are stored under
the server's own folder with ids it generates.  Runs execute in a worker thread; a run is
registered in the catalogue only after its folder is complete.
"""
from __future__ import annotations

import contextlib
import copy
import io
import shutil
import tempfile
import threading
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
import yaml
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from ..errors import StandoffError

MAX_MEMBERS_DEFAULT = 2000


class Levers(BaseModel):
    """The main levers a user can move; ``None`` leaves the scenario as written."""

    approval_share: Optional[float] = Field(None, ge=0, le=1)
    delay_days: Optional[float] = Field(None, ge=0, le=365)
    tariff_scale: Optional[float] = Field(None, ge=0, le=3)
    inventory_days_autos: Optional[float] = Field(None, ge=0, le=720)
    stockpile_usa_magnet_t: Optional[float] = Field(None, ge=0, le=1e6)
    negotiate: bool = False
    strategy_us: Optional[Literal["reciprocal", "generous_reciprocal", "grim_trigger", "pressure_threshold"]] = None
    strategy_cn: Optional[Literal["reciprocal", "generous_reciprocal", "grim_trigger", "pressure_threshold"]] = None


class RunRequest(BaseModel):
    scenario: str = "london-2025"
    yaml_text: Optional[str] = None
    members: int = Field(200, ge=1)
    seed: Optional[int] = Field(None, ge=0)
    levers: Levers = Field(default_factory=Levers)


@dataclass
class Job:
    id: str
    status: str = "queued"
    done: int = 0
    total: int = 0
    error: Optional[str] = None
    folder: Optional[Path] = None
    catalogue_id: Optional[str] = None
    summary: dict[str, Any] = field(default_factory=dict)
    charts: dict[str, bytes] = field(default_factory=dict)


def apply_levers(data: dict, lv: Levers) -> dict:
    """The scenario mapping with the levers applied (a copy)."""
    d = copy.deepcopy(data)
    events = d.setdefault("events", [])
    for ev in events:
        if ev.get("type") == "export_control" and ev.get("mode", "licence") == "licence":
            if lv.approval_share is not None:
                ev["approval_share"] = lv.approval_share
            if lv.delay_days is not None:
                ev["delay_days"] = lv.delay_days
        if ev.get("type") == "tariff" and lv.tariff_scale is not None and isinstance(ev.get("rate"), (int, float)):
            ev["rate"] = round(float(ev["rate"]) * lv.tariff_scale, 6)
    if lv.inventory_days_autos is not None:
        d.setdefault("inventory_days", {})["autos"] = lv.inventory_days_autos
    if lv.stockpile_usa_magnet_t:
        d.setdefault("stockpiles", {}).setdefault("USA", {})["MAGNET"] = lv.stockpile_usa_magnet_t
        ctrl = [e for e in events if e.get("type") == "export_control"]
        date = str(ctrl[0]["date"]) if ctrl else str(d["start"])
        events.append({"date": date, "type": "stockpile_release", "region": "USA", "product": "MAGNET",
                       "tonnes_per_day": lv.stockpile_usa_magnet_t / 120.0, "id": "dashboard-release"})
    neg = d.setdefault("negotiation", {})
    if lv.negotiate:
        neg["enabled"] = True
    strat = neg.setdefault("strategies", {"US": "reciprocal", "CN": "reciprocal"})
    if lv.strategy_us:
        strat["US"] = lv.strategy_us
    if lv.strategy_cn:
        strat["CN"] = lv.strategy_cn
    return d


def _charts(res: Any) -> dict[str, bytes]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report import fan_data
    out = {}
    for name, da, sel, ylabel, title in [
        ("cover_usa_autos", res.ds["cover_days"], {"region": "USA", "sector": "autos"}, "days of cover",
         "US automakers' magnet inventory"),
        ("price_usa_magnet", res.ds["price_multiple"], {"region": "USA", "product": "MAGNET"}, "x baseline",
         "US magnet price"),
        ("exports_chn_magnet", res.ds["exports_t"], {"region": "CHN", "product": "MAGNET"}, "t/day",
         "China's magnet exports, all destinations (what its customs report)"),
    ]:
        df = fan_data(da, sel)
        fig, ax = plt.subplots(figsize=(6, 2.8))
        ax.fill_between(df.index, df["p10"], df["p90"], alpha=0.25, color="C0", label="p10-p90")
        ax.plot(df.index, df["median"], color="C0", label="median")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        out[name] = buf.getvalue()
    return out


def create_app(workdir: str | Path | None = None, max_members: int = MAX_MEMBERS_DEFAULT) -> FastAPI:
    """The dashboard app.  ``workdir`` holds run folders and the catalogue (a temp dir if None)."""
    from ..api import simulate
    from ..catalogue import Catalogue
    from ..scenario import builtin_scenarios, load_scenario, scenario_from_dict

    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="standoff-serve-"))
    root.mkdir(parents=True, exist_ok=True)
    catalogue = Catalogue(root / "catalogue.duckdb")
    jobs: dict[str, Job] = {}
    pool = ThreadPoolExecutor(max_workers=1)  # one run at a time: the engine uses a whole core
    lock = threading.Lock()
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
        yield
        pool.shutdown(wait=False, cancel_futures=True)
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)

    app = FastAPI(title="standoff dashboard", lifespan=lifespan)

    def resolve(req: RunRequest) -> Any:
        if req.yaml_text is not None:
            try:
                data = yaml.safe_load(req.yaml_text)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" at line {mark.line + 1}" if mark else ""
                raise StandoffError(f"malformed YAML{where}: {getattr(exc, 'problem', exc)}",
                                    file="uploaded scenario") from None
            if not isinstance(data, dict):
                raise StandoffError("a scenario must be a YAML mapping", file="uploaded scenario")
            name = "uploaded scenario"
        else:
            if req.scenario not in builtin_scenarios():
                raise StandoffError(f"unknown scenario; built in: {', '.join(builtin_scenarios())}", value=req.scenario)
            data = yaml.safe_load(load_scenario(req.scenario).to_yaml())
            name = req.scenario
        data = apply_levers(data, req.levers)
        data["members"] = req.members
        if req.seed is not None:
            data["seed"] = req.seed
        data["trajectories"] = min(req.members, 200)
        return scenario_from_dict(data, file=name)

    def work(job: Job, sc: Any) -> None:
        try:
            job.status = "running"
            job.total = sc.members

            def progress(done: int, total: int) -> None:
                job.done = done
            res = simulate(sc, progress=progress)
            folder = root / "runs" / job.id
            res.save(folder)
            so = res.stockouts()
            so = so[so.region.isin(["USA", "EU", "JPN"]) & so.sector.isin(["autos", "electronics", "defense"])]
            loss = res.losses().set_index(["region", "sector"])
            rows = []
            for _, r in so.iterrows():
                rows.append({"region": r["region"], "sector": r["sector"], "p_stockout": round(r["p_stockout"], 3),
                             "median_day": None if not np.isfinite(r["median_day"]) else int(r["median_day"]),
                             "loss_median_bn": round(float(loss.loc[(r["region"], r["sector"]), "median"]), 2)})
            pain = res.pain().groupby("side")["median"].sum().round(1).to_dict()
            job.summary = {"scenario": sc.name, "members": sc.members, "seed": sc.seed, "stockouts": rows,
                           "pain_bn": pain}
            if sc.negotiation.enabled:
                ts = res.truce_survival().set_index("days")["p_survive"]
                job.summary["truce"] = {str(k): (None if v != v else round(float(v), 3)) for k, v in ts.items()}
            job.charts = _charts(res)
            job.catalogue_id = catalogue.register(res, folder)  # only once the folder is complete
            job.folder = folder
            job.status = "done"
        except StandoffError as exc:
            job.status, job.error = "error", str(exc)
        except Exception as exc:  # noqa: BLE001 - shown on the page; the server stays up
            job.status, job.error = "error", f"internal error: {type(exc).__name__}: {exc}"

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return (resources.files("standoff.web") / "index.html").read_text(encoding="utf-8")

    @app.get("/api/scenarios")
    def scenarios() -> dict:
        return {"scenarios": builtin_scenarios(), "max_members": max_members}

    @app.post("/api/runs")
    def start(req: RunRequest) -> dict:
        if req.members > max_members:
            raise HTTPException(400, f"members: {req.members} is more than this server allows ({max_members})")
        try:
            sc = resolve(req)
        except StandoffError as exc:
            raise HTTPException(400, str(exc)) from None
        job = Job(id=uuid.uuid4().hex[:10], total=sc.members)
        with lock:
            jobs[job.id] = job
        pool.submit(work, job, sc)
        return {"id": job.id}

    def get_job(job_id: str) -> Job:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no run {job_id!r}")
        return job

    @app.get("/api/runs/{job_id}")
    def status(job_id: str) -> dict:
        job = get_job(job_id)
        return {"id": job.id, "status": job.status, "done": job.done, "total": job.total, "error": job.error,
                "summary": job.summary, "catalogue_id": job.catalogue_id,
                "charts": [f"/api/runs/{job.id}/charts/{n}.png" for n in job.charts]}

    @app.get("/api/runs/{job_id}/charts/{name}.png")
    def chart(job_id: str, name: str) -> Response:
        job = get_job(job_id)
        if name not in job.charts:
            raise HTTPException(404, "no such chart")
        return Response(job.charts[name], media_type="image/png")

    @app.get("/api/runs/{job_id}/download")
    def download(job_id: str) -> Response:
        job = get_job(job_id)
        if job.status != "done" or job.folder is None:
            raise HTTPException(409, "the run has not finished")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(job.folder.rglob("*")):
                if p.is_file():
                    z.write(p, p.relative_to(job.folder))
        return Response(buf.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="standoff-{job.id}.zip"'})

    @app.get("/api/catalogue")
    def runs() -> dict:
        try:
            df = catalogue.list()
        except StandoffError:
            return {"runs": []}
        cols = ["id", "scenario", "seed", "members", "p_stockout_usa_autos", "median_loss_usa_autos_bn"]
        df = df[cols].copy()
        df = df.astype(object).where(df.notna(), None)
        return {"runs": df.to_dict(orient="records")}

    @app.get("/api/compare")
    def compare_runs(a: str, b: str) -> dict:
        from ..analysis import compare
        try:
            ra, rb = catalogue.load(a), catalogue.load(b)
        except StandoffError as exc:
            raise HTTPException(400, str(exc)) from None
        df = compare(ra, rb)
        df = df.astype(object).where(df.notna(), None)
        return {"paired": df.attrs.get("paired", False), "rows": df.to_dict(orient="records")}

    return app
