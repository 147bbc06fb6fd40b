"""Hostile input against a real ``standoff serve``: hundreds of malformed requests on loopback.

The server runs as the real console script in a subprocess.  A ``sitecustomize`` module on
its ``PYTHONPATH`` installs an audit hook (PEP 578) that logs every open, listdir and scandir
of the folders a request names but the dashboard must not read: two valid dataset copies
outside the allowed data, and ``/etc`` and ``/proc``.  After the requests: no 5xx, no
traceback in the server's output, nothing read there, nothing registered, no run folder.
Every request is invalid by construction, so each must get a 4xx.  Requests are bounded in
number (a few hundred) and each in time (a 30 s client timeout); all go to 127.0.0.1.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from importlib import resources
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

HOOK = textwrap.dedent('''
    import os, sys
    _watch = [w for w in os.environ.get("STANDOFF_AUDIT_WATCH", "").split(os.pathsep) if w]
    _dirs_only = [w for w in os.environ.get("STANDOFF_AUDIT_WATCH_DIRS", "").split(os.pathsep) if w]
    _log = os.environ.get("STANDOFF_AUDIT_LOG")
    def _under(p, roots):
        return any(p == r or p.startswith(r.rstrip(os.sep) + os.sep) for r in roots)
    def _hook(event, args):
        if event not in ("open", "os.listdir", "os.scandir") or not args or not _log:
            return
        p = args[0]
        if isinstance(p, int) or p is None:
            return
        try:
            p = os.path.abspath(os.fsdecode(p))
        except Exception:
            return
        if p == _log:
            return
        if _under(p, _watch) or (event != "open" and _under(p, _dirs_only)):
            with open(_log, "a") as f:
                f.write(event + " " + p + "\\n")
    sys.addaudithook(_hook)
''')

N_MIN = 300


def _dataset_yaml(baseline: str, **extra: object) -> str:
    doc = {"name": "hostile", "baseline": baseline, "start": "2025-01-01", "horizon_days": 30, "members": 2}
    doc.update(extra)
    return json.dumps(doc)  # JSON is YAML


def _bodies(sentinels: list[str]) -> list[object]:
    """Malformed run requests: each must be refused (4xx) and start nothing."""
    out: list[object] = []
    # NaN, infinities and absurd numbers in every numeric field (sent as raw JSON text below)
    for fld in ("members", "seed"):
        for bad in ("NaN", "Infinity", "-Infinity", "1e999", "-1", "1.5", '"many"', "null", "[]", "{}",
                    "99999999999999999999999", "-99999999999999999999999", "true"):
            out.append(f'{{"scenario": "london-2025", "{fld}": {bad}}}')
    for lever in ("approval_share", "delay_days", "tariff_scale", "inventory_days_lead_sector", "stockpile_us_key_product_t"):
        for bad in ("NaN", "Infinity", "-Infinity", "1e999", "-1", "1e308", '"x"', "[1]", "{}"):
            out.append(f'{{"scenario": "london-2025", "members": 2, "levers": {{"{lever}": {bad}}}}}')
    for bad in ('"nope"', "7", "[]", '"GRIM"'):
        out.append(f'{{"scenario": "london-2025", "members": 2, "levers": {{"strategy_us": {bad}}}}}')
    # not JSON, or not an object
    for raw in ("", "{", "[]", "null", "42", '"x"', "{'a': 1}", "\x00\x01", "{" * 5000 + "}" * 5000,
                '{"scenario": ' + "[" * 3000 + "]" * 3000 + "}", "\ufeff{}" + "x"):
        out.append(raw)
    # unknown and wrongly typed fields
    for extra in ('"path": "/etc/passwd"', '"baseline": "/etc"', '"workdir": "/"', '"scenario": 5',
                  '"scenario": "../../etc/passwd"', '"scenario": "/etc/passwd"', '"scenario": "london-2025\\u0000"',
                  '"scenario": "' + "x" * 1000 + '"', '"members": 10000000', '"members": 0',
                  '"yaml_text": 5', '"yaml_text": ["a"]', '"levers": []', '"levers": "x"', '"levers": {"nope": 1}'):
        out.append("{" + extra + "}")
    # YAML that is not a scenario, or that attacks the parser
    lol = "a: &a [" + ",".join(["x"] * 10) + "]\n"
    prev = "a"
    for i in range(9):
        lol += f"b{i}: &b{i} [" + ",".join([f"*{prev}"] * 10) + "]\n"
        prev = f"b{i}"
    bombs = [
        lol + f"name: *{prev}\nstart: 2025-01-01\nhorizon_days: 10\n",
        lol + f"description: *{prev}\nname: x\nstart: 2025-01-01\nhorizon_days: 10\n",
        "name: &n " + "y" * 200_000 + "\ndescription: [" + ", ".join(["*n"] * 40) + "]\nstart: 2025-01-01\nhorizon_days: 10\n",
        "name: " + "[" * 2000 + "]" * 2000 + "\n",
        "name: " + "{a: " * 500 + "1" + "}" * 500 + "\n",
        "a: &a [*a]\n",
        "x: 1\n" * 400_000,  # over the size limit
        "name: x\nstart: 2025-13-45\nhorizon_days: 10\n",
        "name: x\nstart: 2025-02-30\nhorizon_days: 10\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 10\nseed: " + "9" * 5000 + "\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: .nan\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 10\nparameters: {price_cap: .inf}\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 10\nparameters: {price_cap: .nan}\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 10\nparameters: {price_cap: 1e999}\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 10\nstockpiles: {USA: {MAGNET: .inf}}\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 10\nevents: 5\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 10\nevents: [5, 'a', null]\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 10\nevents: [{date: 2025-01-05, type: tariff, importer: USA, "
        "exporter: CHN, rate: .nan}]\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 10\nevents: [{date: 2025-01-05, type: export_control, "
        "exporter: CHN, products: [MAGNET], approval_share: 1e999}]\n",
        "name: !!python/object/apply:os.system ['echo pwned']\nstart: 2025-01-01\nhorizon_days: 10\n",
        "name: !!binary 'not base64'\n",
        "!!set {a, b}",
        "- a\n- b\n",
        "just a string",
        "",
        "---\na: 1\n---\nb: 2\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 10\n<<: *undefined\n",
        "name: x\n\tstart: bad indent\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 10\ninventory_days: {autos: -5}\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 10\ninventory_days: {autos: 1e6}\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 99999\n",
        "name: ''\nstart: 2025-01-01\nhorizon_days: 10\n",
        "name: " + "n" * 5000 + "\nstart: 2025-01-01\nhorizon_days: 10\n",
        "name: x\nstart: 2025-01-01\nhorizon_days: 10\nnegotiation: {enabled: true, parameters: {resolve_us: .nan}}\n",
    ]
    ev = {"rate": "{date: 2025-01-05, type: tariff, importer: USA, exporter: CHN, rate: %s}",
          "approval_share": "{date: 2025-01-05, type: export_control, exporter: CHN, products: [MAGNET], approval_share: %s}",
          "delay_days": "{date: 2025-01-05, type: export_control, exporter: CHN, products: [MAGNET], delay_days: %s}",
          "leakage": "{date: 2025-01-05, type: export_control, exporter: CHN, products: [MAGNET], leakage: %s}",
          "tonnes_per_day": "{date: 2025-01-05, type: stockpile_release, region: USA, product: MAGNET, tonnes_per_day: %s}",
          "date": "{date: %s, type: talks, name: x}"}
    for tmpl in ev.values():
        for bad in (".nan", ".inf", "-.inf", "-1", "[1]", "{dist: normal, mean: 0, sd: .nan}", "'x'", "2025-13-45"):
            bombs.append("name: x\nstart: 2025-01-01\nhorizon_days: 10\nevents: [" + tmpl % bad + "]\n")
    for y in bombs:
        for members in (2, 3):
            out.append({"scenario": "london-2025", "members": members, "yaml_text": y})
    # Baselines the page must not read: system folders, relative escapes, and valid datasets outside the allowed data
    for base in ["/etc", "/etc/", "/proc/self", "/proc/self/cwd", "/", "..", "../..", "../../escape-data", "./",
                 "/dev/zero", "/dev/stdin", "~", "~root", "$HOME", "%2e%2e", "baseline-2024/../../..",
                 "baseline-2024/../baseline-2009", "data/baseline-2024", "/etc/passwd", "C:\\Windows", "\x00",
                 "baseline-2024\x00", *sentinels, *(s + "/" for s in sentinels), *(s + "/." for s in sentinels)]:
        for members in (2, 3):
            out.append({"scenario": "london-2025", "members": members, "yaml_text": _dataset_yaml(base)})
    out.append({"scenario": "london-2025", "members": 2, "yaml_text": _dataset_yaml(123)})  # type: ignore[arg-type]
    out.append({"scenario": "london-2025", "members": 2, "yaml_text": _dataset_yaml("baseline-2024", seed=2**64)})
    out.append({"scenario": "london-2025", "members": 2, "yaml_text": _dataset_yaml("baseline-2024", members=0,
                                                                                      horizon_days=-1)})
    return out


def _gets() -> list[str]:
    """Malformed or forbidden reads."""
    out = ["/docs", "/redoc", "/docs/oauth2-redirect", "/api/runs/nope", "/api/runs/../../etc/passwd",
           "/api/runs/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/api/runs/x/download", "/api/runs/x/charts/y.png",
           "/api/runs/x/charts/..%2f..%2fetc%2fpasswd.png", "/api/compare", "/api/compare?a=%25&b=%25",
           "/api/compare?a=../../etc&b=x", "/api/compare?a=" + "f" * 5000 + "&b=0", "/api/compare?a=zz&b=zz",
           "/api/compare?a=%00&b=%00", "/api/compare?a=&b=", "/static/../../etc/passwd", "/..%2f..%2fetc%2fpasswd",
           "/api/runs/" + "a" * 3000]
    for i in range(20):
        out.append(f"/api/runs/{'0' * i}deadbeef/download")
    return out


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    hook_dir = tmp / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(HOOK)
    builtin = Path(str(resources.files("standoff") / "data" / "baseline-2024"))
    sentinel = tmp / "outside-data"
    shutil.copytree(builtin, sentinel)
    cwd = tmp / "a" / "b" / "srv"
    cwd.mkdir(parents=True)
    shutil.copytree(builtin, tmp / "a" / "escape-data")
    audit_log = tmp / "audit.log"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook_dir), os.environ.get("PYTHONPATH", "")]),
           "STANDOFF_AUDIT_WATCH": os.pathsep.join([str(sentinel), str(tmp / "a" / "escape-data")]),
           "STANDOFF_AUDIT_WATCH_DIRS": os.pathsep.join(["/etc", "/proc", "/dev"]),
           "STANDOFF_AUDIT_LOG": str(audit_log)}
    exe = shutil.which("standoff") or str(Path(sys.executable).parent / "standoff")
    catalogue = tmp / "catalogue.duckdb"
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen([exe, "serve", "--port", str(port), "--workdir", str(tmp / "work"), "--catalogue",
                             str(catalogue), "--max-members", "50"], cwd=cwd, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/scenarios", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("standoff serve did not start: " + (tmp / "server.log").read_text())
    audit_log.write_text("")  # what the server read while starting up is not the requests' doing
    yield {"url": url, "tmp": tmp, "sentinels": [str(sentinel), str(tmp / "a" / "escape-data")],
           "audit": audit_log, "log": tmp / "server.log", "catalogue": catalogue, "work": tmp / "work", "proc": proc}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_hostile_requests_are_refused_cleanly(hostile_server):
    url = hostile_server["url"]
    bodies = _bodies(hostile_server["sentinels"])
    gets = _gets()
    n = 0
    failures = []
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=30.0) as client:
        for body in bodies:
            if isinstance(body, str):
                r = client.post("/api/runs", content=body.encode("utf-8", "surrogatepass"),
                                headers={"content-type": "application/json"})
            else:
                r = client.post("/api/runs", json=body)
            n += 1
            if not 400 <= r.status_code < 500 or "Traceback" in r.text:
                failures.append((r.status_code, str(body)[:120], r.text[:200]))
            elif len(r.text) > 5000:
                failures.append(("long answer", str(body)[:120], len(r.text)))
        for path in gets:
            r = client.get(path)
            n += 1
            if not 400 <= r.status_code < 500 or "Traceback" in r.text:
                failures.append((r.status_code, path[:120], r.text[:200]))
        # a body far larger than any scenario, and one that lies about its length
        r = client.post("/api/runs", content=b"{" + b" " * (5 * 2**20) + b"}", headers={"content-type": "application/json"})
        n += 1
        if r.status_code != 413:
            failures.append((r.status_code, "5 MiB body", r.text[:200]))
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"):
            r = client.post("/api/runs", content=b"members=5&scenario=london-2025", headers={"content-type": ctype})
            n += 1
            if not 400 <= r.status_code < 500:
                failures.append((r.status_code, ctype, r.text[:200]))
        for method in ("PUT", "DELETE", "PATCH"):
            r = client.request(method, "/api/runs")
            n += 1
            if not 400 <= r.status_code < 500:
                failures.append((r.status_code, method, r.text[:200]))
        # still up and answering
        assert client.get("/api/scenarios").status_code == 200
    elapsed = time.monotonic() - started
    assert n >= N_MIN, n
    assert not failures, failures[:10]
    assert elapsed < 300, f"{n} requests took {elapsed:.0f} s"  # a bound on the test, not a benchmark
    log = hostile_server["log"].read_text()
    assert "Traceback" not in log, log[-3000:]
    reads = hostile_server["audit"].read_text()
    assert reads == "", f"the server read outside the allowed data:\n{reads[:2000]}"
    assert not hostile_server["catalogue"].exists() or _rows(hostile_server["catalogue"]) == 0
    runs = hostile_server["work"] / "runs"
    assert not runs.exists() or not any(p.name != ".standoff-runs" for p in runs.iterdir())  # only its mark


def test_same_answer_whether_a_path_exists_or_not(hostile_server):
    """The page must not reveal which folders exist: /etc (exists) and /no/such (not) read alike."""
    with httpx.Client(base_url=hostile_server["url"], timeout=30.0) as client:
        answers = []
        for base in ("/etc", "/no/such/folder"):
            r = client.post("/api/runs", json={"scenario": "london-2025", "members": 2, "yaml_text": _dataset_yaml(base)})
            assert r.status_code == 400
            answers.append(r.json()["detail"].replace(base, "BASE"))
    assert answers[0] == answers[1]


def _rows(path: Path) -> int:
    import duckdb
    con = duckdb.connect(str(path), read_only=True)
    try:
        return int(con.execute("SELECT count(*) FROM runs").fetchone()[0])
    finally:
        con.close()
