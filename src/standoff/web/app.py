"""FastAPI app: pick or upload a scenario, move levers, run with live progress, see charts and
numbers, compare with the baseline or an earlier run, download results.

No path from the user is ever read or written: uploads are YAML text whose ``baseline`` must
name a built-in dataset (or one of the folders the person serving the page allowed), runs are
stored under the server's own folder with ids it generates.  Runs execute in a worker
thread; a run is registered in the catalogue only after its folder is complete.  The
catalogue is the command line's (``runs/catalogue.duckdb`` unless ``standoff serve
--catalogue`` says otherwise), so CLI runs and page runs can be compared with each other.

Hostile input is answered with a 4xx and a message naming the field: bodies over
:data:`MAX_BODY_BYTES`, YAML that is too large, deep or alias-expanding
(:mod:`standoff.yamlio`), NaN or infinite numbers, unknown datasets or paths.  Nothing
unexpected reaches the client as a traceback: the page gets one line, the log one line.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import tempfile
import threading
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Optional, Sequence

import numpy as np
import pandas as pd
import yaml
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ..errors import StandoffError
from ..levers import apply_dashboard_levers
from ..scenario import FIELD_BOUNDS, MAX_SEED
from ..yamlio import MAX_BYTES

MAX_MEMBERS_DEFAULT = 2000
#: Largest request body accepted (a scenario's YAML is at most ``yamlio.MAX_BYTES``).
MAX_BODY_BYTES = 2 * MAX_BYTES
log = logging.getLogger("standoff.web")


#: Most runs queued or running at once; more are refused (429) until one finishes.
MAX_QUEUED = 8
#: Most runs the server remembers; the oldest finished ones are forgotten (their folders and
#: catalogue rows stay) so the job table cannot grow without end.
MAX_JOBS = 500
#: Disk the server's run folders may take before new runs are refused (507), bytes.
MAX_DISK_BYTES_DEFAULT = 5 * 2**30


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: refuse a request body over ``limit`` bytes, counted as it arrives.

    A Content-Length over the limit is refused at once; a chunked body (no Content-Length) is
    counted chunk by chunk and cut off as soon as it passes the limit, so memory holds at
    most the limit and one chunk, never the whole body.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = {"detail": f"request body larger than {self.limit:,} bytes"}
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await JSONResponse(detail, status_code=413)(scope, receive, send)
            return
        seen = 0
        started = too_large = False

        async def counted() -> Any:
            nonlocal seen, too_large
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    too_large = True
                    raise _TooLarge
            return msg

        async def answer_413() -> None:
            nonlocal started
            if not started:
                started = True
                await JSONResponse(detail, status_code=413)(scope, receive, send)

        async def watched(msg: Any) -> None:
            nonlocal started
            if too_large:  # FastAPI answers a body it could not read with a 400 of its own: say why instead
                await answer_413()
                return
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            await answer_413()


class _Strict(BaseModel):
    # strict: JSON true is not a member count, "5" is not a number
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class Levers(_Strict):
    """The main levers a user can move; ``None`` leaves the scenario as written."""

    # Bounds from the scenario schema's one table (FIELD_BOUNDS), so the page and files agree.
    approval_share: Optional[float] = Field(None, ge=FIELD_BOUNDS["approval_share"][0],
                                            le=FIELD_BOUNDS["approval_share"][1])
    delay_days: Optional[float] = Field(None, ge=FIELD_BOUNDS["delay_days"][0], le=FIELD_BOUNDS["delay_days"][1])
    tariff_scale: Optional[float] = Field(None, ge=0, le=3)  # a multiplier: the scaled rates are checked as rates
    inventory_days_lead_sector: Optional[float] = Field(None, ge=FIELD_BOUNDS["inventory_days"][0],
                                                        le=FIELD_BOUNDS["inventory_days"][1])
    stockpile_us_key_product_t: Optional[float] = Field(None, ge=0, le=1e6)  # the page's slider; the schema allows more
    negotiate: bool = False
    strategy_us: Optional[Literal["reciprocal", "generous_reciprocal", "grim_trigger", "pressure_threshold"]] = None
    strategy_cn: Optional[Literal["reciprocal", "generous_reciprocal", "grim_trigger", "pressure_threshold"]] = None


class RunRequest(_Strict):
    scenario: str = Field("london-2025", max_length=200)
    yaml_text: Optional[str] = Field(None, max_length=MAX_BYTES)
    #: A nowcast: a table of what has been published (CSV, :mod:`standoff.nowcast`) to condition on.
    observations_csv: Optional[str] = Field(None, max_length=MAX_BYTES)
    members: int = Field(200, ge=1)
    seed: Optional[int] = Field(None, ge=0, le=MAX_SEED)
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
    chart_specs: list[dict[str, Any]] = field(default_factory=list)


def _customs_summary(res: Any) -> dict[str, list]:
    """Monthly exports of the first controlled product to all destinations and the largest ones, as
    multiples of normal (median member): the numbers journalists quote ("exports to the US fell n%")."""
    cu = res.customs()
    if cu.empty:
        return {"columns": [], "rows": []}
    prod, exp = res.controlled_routes()[0]
    cu = cu[(cu["product"] == prod) & (cu["exporter"] == exp)]
    net = res.scenario.network()
    dests = ["ALL", *[d for d in net.headline_importers if d in set(cu["destination"])]]
    wide = cu.pivot_table(index="month", columns="destination", values="x_baseline", dropna=False)
    wide = wide.reindex(columns=dests)
    cols = ["month", *[f"{prod} from {exp}: " + ("all" if d == "ALL" else f"to {d}") for d in dests]]
    rows = [[m, *[f"{v:.2f}" if np.isfinite(v) else "n/a" for v in wide.loc[m]]] for m in wide.index]
    return {"columns": cols, "rows": rows}


def _authority_summary(res: Any) -> dict[str, list]:
    """The licensing authority per licensed product (:meth:`standoff.Results.authority`): when the
    first licence came, the largest backlog, days from application to decision, share granted."""
    au = res.authority()
    cols = ["product", "first licence (median, p10-p90)", "peak backlog (contracts)", "days to decision",
            "share granted", "buyers who left"]
    rows = [[r["product"], f"{r['first_licence']} ({r['first_licence_p10']} - {r['first_licence_p90']})",
             f"{r['peak_backlog']:.0f}", f"{r['mean_days_to_decision']:.0f}" if np.isfinite(r["mean_days_to_decision"])
             else "n/a", f"{r['granted_share']:.0%}" if np.isfinite(r["granted_share"]) else "n/a", f"{r['left']:.0f}"]
            for _, r in au.iterrows()]
    return {"columns": cols if rows else [], "rows": rows}


def _spec(name: str, title: str, ylabel: str, label: str, df: pd.DataFrame) -> dict[str, Any]:
    """An interactive fan chart's data for ``web/charts.js`` (4 significant digits: the page's size)."""
    def col(c: str) -> list:
        return [None if not np.isfinite(v) else float(f"{v:.4g}") for v in df[c].to_numpy(dtype=float)]
    return {"name": name, "title": title, "ylabel": ylabel,
            "series": [{"label": label, "dates": [str(d)[:10] for d in df.index], "median": col("median"),
                        "p10": col("p10"), "p90": col("p90"), "p25": col("p25"), "p75": col("p75")}]}


def _charts(res: Any) -> dict[str, bytes]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report import fan_data
    out: dict[str, Any] = {}
    specs: list[dict[str, Any]] = []
    # The regions, product and sector the charts show are the dataset's declaration.
    net = res.scenario.network()
    us, cn, kp, lead = net.us_region, net.cn_region, net.key_product, net.lead_sector
    paths = [
        ("cover_us_lead", res.ds["cover_days"], {"region": us, "sector": lead}, "days of cover",
         f"{us} {lead}: {kp} inventory"),
        ("price_us_key", res.ds["price_multiple"], {"region": us, "product": kp}, "x baseline", f"{us} {kp} price"),
        ("exports_cn_key", res.ds["exports_t"], {"region": cn, "product": kp}, "t/day",
         f"{cn}'s {kp} exports, all destinations (what its customs report)"),
    ]
    r = res.ds["route_exports_t"]
    to_us = [j for j in range(r.sizes["route"]) if (r["route_product"].values[j], r["route_from"].values[j],
                                                    r["route_to"].values[j]) == (kp, cn, us)]
    if to_us:
        paths.append(("exports_cn_key_us", r.isel(route=to_us[0]).reset_coords(drop=True), {}, "t/day",
                      f"{cn}'s {kp} exports to {us} (by destination, as its customs report)"))
    for name, da, sel, ylabel, title in paths:
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
        specs.append(_spec(name, title, ylabel, "median member" if not sel else " ".join(map(str, sel.values())), df))
    out["_specs"] = specs  # type: ignore[assignment] - taken out by the caller
    lic = res.licences()
    if len(lic):
        fig, ax = plt.subplots(figsize=(6, 2.8))
        for k, prod in enumerate(dict.fromkeys(lic["product"])):
            d = lic[lic["product"] == prod]
            ax.plot(pd.to_datetime(d["month"]), d["pending_end"], marker=".", color=f"C{k}",
                    label=f"{prod} pending")
            ax.bar(pd.to_datetime(d["month"]) + pd.Timedelta(days=4 * k), d["granted"], width=4, color=f"C{k}",
                   alpha=0.5, label=f"{prod} granted")
            ax.plot(pd.to_datetime(d["month"]), d["backlog_end"], linestyle=":", color=f"C{k}",
                    label=f"{prod} backlog")
        ax.set_ylabel("licence contracts")
        ax.set_title("Licences granted in the month, pending and in the backlog at its end (median member)", fontsize=9)
        ax.legend(fontsize=6, ncol=2)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        out["licences"] = buf.getvalue()
    return out


def create_app(workdir: str | Path | None = None, max_members: int = MAX_MEMBERS_DEFAULT,
               catalogue: str | Path | None = None, datasets: Sequence[str | Path] = (),
               max_disk_bytes: int = MAX_DISK_BYTES_DEFAULT) -> FastAPI:
    """The dashboard app.

    Parameters
    ----------
    workdir
        Where the page's run folders go (a temporary folder, removed at shutdown, if None).
    max_members
        The largest ensemble a page may ask for.
    catalogue
        The run catalogue file (``workdir/catalogue.duckdb`` if None; ``standoff serve``
        passes the command line's, so both list the same runs).
    datasets
        Dataset folders, besides the built-in datasets, that a pasted scenario may name as
        its ``baseline``.  Nothing else on the machine can be named.
    max_disk_bytes
        Disk the run folders may take; new runs are refused (507) beyond it.  At most
        :data:`MAX_QUEUED` runs wait or run at once (429 beyond) and the job table keeps at
        most :data:`MAX_JOBS` runs.
    """
    from ..api import simulate
    from ..catalogue import Catalogue
    from ..network import builtin_datasets
    from ..scenario import builtin_scenarios, load_scenario, scenario_from_dict
    from ..yamlio import load_yaml

    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="standoff-serve-"))
    root.mkdir(parents=True, exist_ok=True)
    catalogue = Catalogue(Path(catalogue) if catalogue is not None else root / "catalogue.duckdb")
    from ..runstore import ROOT_MARK, sweep_orphans
    (root / "runs").mkdir(exist_ok=True)
    (root / "runs" / ROOT_MARK).touch()  # the server's own runs folder: it may sweep there
    swept = sweep_orphans(root / "runs")  # temporary folders of runs killed with an earlier server
    if swept.removed:
        log.warning("removed %d unfinished temporary run folder(s) (%.1f MB) left by a stopped server",
                    len(swept.removed), swept.bytes_freed / 1e6)
    # Allowed folders are resolved once here; a pasted path is only normalised as text, never
    # looked up on disk, so a page cannot learn which folders exist.
    allowed = {str(Path(d).resolve()): Path(d).resolve() for d in datasets}
    jobs: dict[str, Job] = {}
    pool = ThreadPoolExecutor(max_workers=1)  # one run at a time: the engine uses a whole core
    lock = threading.Lock()
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
        yield
        pool.shutdown(wait=False, cancel_futures=True)
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)

    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN, and nothing here uses the network.
    app = FastAPI(title="standoff dashboard", lifespan=lifespan, docs_url=None, redoc_url=None)

    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the input, which may be NaN (not JSON) or megabytes long.
        msgs = []
        for e in exc.errors()[:5]:
            loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            msgs.append(f"{loc or 'request'}: {e.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(msgs)}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("internal error: %s: %s", type(exc).__name__, str(exc)[:200])
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, status_code=500)

    def check_baseline(data: dict) -> None:
        """Only built-in datasets, or folders the server allowed, may be read for a pasted scenario."""
        base = data.get("baseline", "baseline-2024")
        if not isinstance(base, str):
            raise StandoffError("baseline must be the name of a dataset", file="uploaded scenario", field="baseline")
        if base in builtin_datasets():
            return
        resolved = os.path.normpath(base) if os.path.isabs(base) and "\x00" not in base else None
        if resolved is not None and resolved in allowed:
            data["baseline"] = resolved
            return
        # The same words whether or not the path exists: the page must not reveal the machine's folders.
        raise StandoffError("the dashboard reads only these datasets: " + ", ".join([*builtin_datasets(), *allowed]),
                            file="uploaded scenario", field="baseline", value=base[:200])

    def resolve(req: RunRequest) -> Any:
        if req.yaml_text is not None:
            data = load_yaml(req.yaml_text, "uploaded scenario")
            if not isinstance(data, dict):
                raise StandoffError("a scenario must be a YAML mapping", file="uploaded scenario")
            check_baseline(data)
            name = "uploaded scenario"
            # Validate as written first, so levers are applied to a well-formed mapping.
            data = scenario_from_dict(data, file=name).model_dump(mode="json", exclude_none=True)
        else:
            if req.scenario not in builtin_scenarios():
                raise StandoffError(f"unknown scenario; built in: {', '.join(builtin_scenarios())}", field="scenario",
                                    value=req.scenario)
            data = yaml.safe_load(load_scenario(req.scenario).to_yaml())
            name = req.scenario
        data = apply_dashboard_levers(data, req.levers, scenario_from_dict(data, file=name).network())
        data["members"] = req.members
        if req.seed is not None:
            data["seed"] = req.seed
        # a nowcast reads every member's daily paths
        data["trajectories"] = req.members if req.observations_csv else min(req.members, 200)
        return scenario_from_dict(data, file=name)

    def work(job: Job, sc: Any, obs: Any = None) -> None:
        try:
            job.status = "running"
            job.total = sc.members

            def progress(done: int, total: int) -> None:
                job.done = done
            res = simulate(sc, progress=progress)
            folder = root / "runs" / job.id
            nowcast = None
            if obs is not None:  # condition on what has been published; the forecast is the moved resample
                from ..nowcast import condition, rejuvenate
                c0 = condition(res, obs)
                c = rejuvenate(c0)
                fit = c0.fit()
                moved = c0.inputs_moved().head(5)
                nowcast = {"observations": len(obs), "ess": round(c0.ess, 1), "members": sc.members,
                           "distinct": c.distinct, "moved": round(c.acceptance, 3),
                           "fit": {"columns": ["observation", "value", "sd", "before: median (p10-p90)",
                                               "after: median (p10-p90)"],
                                   "rows": [[r["observation"], f"{r['value']:.3g}", f"{r['sd']:.3g}",
                                             f"{r['prior_median']:.3g} ({r['prior_p10']:.3g}-{r['prior_p90']:.3g})",
                                             f"{r['posterior_median']:.3g} ({r['posterior_p10']:.3g}-"
                                             f"{r['posterior_p90']:.3g})"] for _, r in fit.iterrows()]},
                           "inputs": {"columns": ["input", "prior mean", "posterior mean", "shift (prior sds)"],
                                      "rows": [[r["input"], f"{r['prior_mean']:.3g}", f"{r['posterior_mean']:.3g}",
                                                f"{r['shift_sd']:+.2f}"] for _, r in moved.iterrows()]}}
                res = c.posterior
            res.save(folder)
            so = res.stockouts()
            net = sc.network()
            so = so[so.region.isin(net.headline_importers) & so.sector.isin(net.headline_sectors)]
            loss = res.losses().set_index(["region", "sector"])
            fm = res.firms().set_index(["region", "sector"])
            rows = []
            for _, r in so.iterrows():
                rows.append({"region": r["region"], "sector": r["sector"], "p_stockout": round(r["p_stockout"], 3),
                             "p_stockout_lo": round(r["p_stockout_lo"], 3), "p_stockout_hi": round(r["p_stockout_hi"], 3),
                             "median_day": None if not np.isfinite(r["median_day"]) else int(r["median_day"]),
                             "loss_median_bn": round(float(loss.loc[(r["region"], r["sector"]), "median"]), 2),
                             "delayed_median_bn": round(float(fm["delayed_usd_bn"].get((r["region"], r["sector"]), 0.0)),
                                                        2),
                             "share_affected": round(float(fm["share_affected"].get((r["region"], r["sector"]), 0.0)),
                                                     3)})
            pain = res.pain().groupby("side")["median"].sum().round(1).to_dict()
            job.summary = {"scenario": sc.name, "members": sc.members, "seed": sc.seed, "stockouts": rows,
                           "pain_bn": pain}
            if sc.negotiation.enabled:
                ts = res.truce_survival().set_index("days")["p_survive"]
                job.summary["truce"] = {str(k): (None if v != v else round(float(v), 3)) for k, v in ts.items()}
            if nowcast is not None:
                job.summary["nowcast"] = nowcast
            job.summary["customs"] = _customs_summary(res)
            job.summary["authority"] = _authority_summary(res)
            charts = _charts(res)
            job.chart_specs = charts.pop("_specs")
            job.charts = charts
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
        return {"scenarios": builtin_scenarios(), "max_members": max_members, "catalogue": str(catalogue.path),
                "datasets": [*builtin_datasets(), *allowed]}

    def disk_used() -> int:
        total = 0
        for p in (root / "runs").rglob("*"):
            with contextlib.suppress(OSError):
                if p.is_file() and not p.is_symlink():
                    total += p.stat().st_size
        return total

    @app.post("/api/runs")
    def start(req: RunRequest) -> dict:
        if req.members > max_members:
            raise HTTPException(400, f"members: {req.members} is more than this server allows ({max_members})")
        with lock:
            waiting = sum(j.status in ("queued", "running") for j in jobs.values())
        if waiting >= MAX_QUEUED:
            raise HTTPException(429, f"{waiting} runs are queued or running; wait for one to finish")
        used = disk_used()
        if used > max_disk_bytes:
            raise HTTPException(507, f"the server's run folders take {used / 2**30:.1f} GiB, more than its limit of "
                                     f"{max_disk_bytes / 2**30:.1f} GiB; remove old runs from {root / 'runs'}")
        try:
            sc = resolve(req)
            obs = None
            if req.observations_csv is not None and req.observations_csv.strip():
                from ..ensemble import check_memory, plan
                from ..nowcast import parse_observations
                obs = parse_observations(req.observations_csv, sc, "pasted observations")
                check_memory(plan(sc))  # a nowcast keeps every member's daily paths
        except StandoffError as exc:
            raise HTTPException(400, str(exc)) from None
        job = Job(id=uuid.uuid4().hex[:10], total=sc.members)
        with lock:
            if len(jobs) >= MAX_JOBS:  # forget the oldest finished runs (dicts keep insertion order)
                for old_id in [k for k, j in jobs.items() if j.status in ("done", "error")][:len(jobs) - MAX_JOBS + 1]:
                    del jobs[old_id]
            if len(jobs) >= MAX_JOBS:
                raise HTTPException(429, "too many runs in progress; wait for one to finish")
            jobs[job.id] = job
        pool.submit(work, job, sc, obs)
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
                "charts": [f"/api/runs/{job.id}/charts/{n}.png" for n in job.charts],
                "chart_specs": job.chart_specs}

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)  # no icon; say so rather than 404 in every browser's console

    @app.get("/charts.js")
    def charts_js() -> Response:
        from ..report import chart_script
        return Response(chart_script(), media_type="application/javascript")

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
        cols = ["id", "scenario", "seed", "members", "p_stockout_lead", "median_loss_lead_bn"]
        df = df[cols].copy()
        df = df.astype(object).where(df.notna(), None)
        return {"runs": df.to_dict(orient="records")}

    @app.get("/api/compare")
    def compare_runs(a: str, b: str) -> dict:
        from ..analysis import compare
        try:
            ra, rb = catalogue.load(a), catalogue.load(b)
            df = compare(ra, rb)
        except StandoffError as exc:
            raise HTTPException(400, str(exc)) from None
        except (KeyError, ValueError) as exc:  # runs of different datasets have different labels
            raise HTTPException(400, f"these two runs cannot be compared: {type(exc).__name__}: {str(exc)[:200]}") from None
        df = df.astype(object).where(df.notna(), None)
        return {"paired": df.attrs.get("paired", False), "rows": df.to_dict(orient="records")}

    return app
