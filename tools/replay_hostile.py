"""Replay the 13 findings of the adversarial test against a real DrumSampler server.

By default the script starts the server itself exactly as ``make run`` does (gunicorn, two workers, rate
limits on) on a free port of 127.0.0.1 with a fresh DATA_DIR, waits for ``/health``, replays every finding
with bounded loops and timeouts, and stops the server's whole process group at the end (also on errors)::

    .venv/bin/python -m tools.replay_hostile                 # every finding, server started here
    .venv/bin/python -m tools.replay_hostile --only 1,12     # some findings
    .venv/bin/python -m tools.replay_hostile --url http://127.0.0.1:5000 --rounds 0.2 --out replay.txt

It prints one line per finding (``held`` or ``NOT HELD`` with the evidence) and a summary, and exits 0 only
when every finding replayed holds. Checks that need the server's files (orphaned audio, signed test tokens,
temporary files, the control socket) run only when the script started the server. Only 127.0.0.1 is ever
contacted. Test audio is generated in code (numpy + soundfile); no third-party audio is used.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import concurrent.futures as cf
import contextlib
import io
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import uuid
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urljoin, urlsplit

import jwt
import numpy as np
import psutil
import requests
import soundfile as sf
from requests.adapters import HTTPAdapter

REPO = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = ("127.0.0.1", "localhost")
# Settings inherited from the caller's environment that would change what is replayed: dropped for the server.
SERVER_ENV_DROP = ("RATELIMIT_ENABLED", "JWT_SECRET_KEY", "DATABASE_URL", "DATA_DIR", "HOST", "PORT", "WORKERS")
TIMEOUT = 30.0
MB = 1024 * 1024


def log(text: str) -> None:
    """Progress notes go to stderr; stdout holds only the findings and the summary."""
    print(f"# {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------------------
# Test audio, generated in code
# --------------------------------------------------------------------------------------------------------------


def encode(y: np.ndarray, sr: int, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    """``y`` encoded as a file of libsndfile format ``fmt``."""
    buf = io.BytesIO()
    sf.write(buf, y, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def noise(rng: np.random.Generator, seconds: float, sr: int = 22050, decay: float = 0.0) -> np.ndarray:
    """White noise (optionally decaying): every call gives new content."""
    t = np.arange(round(seconds * sr)) / sr
    return (0.6 * rng.uniform(-1, 1, t.size) * np.exp(-decay * t)).astype(np.float32)


def kick(seed: int, seconds: float = 0.4, sr: int = 44100) -> np.ndarray:
    """A kick-like one-shot (as tests/audio_factory.py): a pitch-dropping sine with a click of noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr)) / sr
    phase = 2 * np.pi * np.cumsum(50 + 100 * np.exp(-t * 30)) / sr
    y = np.sin(phase) * np.exp(-t * 8) + 0.3 * rng.standard_normal(t.size) * np.exp(-t * 200)
    return (0.8 * y / np.max(np.abs(y))).astype(np.float32)


def short_wav(rng: np.random.Generator, seconds: float = 0.25) -> bytes:
    """A small, fresh WAV (decaying noise burst at 22.05 kHz)."""
    return encode(noise(rng, seconds, decay=8.0), 22050)


def write_bomb(path: Path) -> None:
    """A ~343 KB FLAC that decodes to 60 s of 8 channels at 655 350 Hz (1.26 GB as float32), written in blocks."""
    sr, channels = 655350, 8
    block = np.full((sr, channels), 0.5, dtype=np.float32)
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=channels, format="FLAC", subtype="PCM_16") as fh:
        for _ in range(60):
            fh.write(block)


# --------------------------------------------------------------------------------------------------------------
# The server and its clients
# --------------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """The server under test: started here (``make run``, own process group) or given by ``--url``."""

    url: str
    data_dir: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    restarts: int = 0
    listeners: list[psutil.Process] = field(default_factory=list)

    @property
    def started_here(self) -> bool:
        return self.proc is not None

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 80)

    @classmethod
    def start(cls, data_dir: Path) -> Server:
        server = cls(url="", data_dir=data_dir, log_path=data_dir.parent / "server.log")
        server._launch()
        return server

    def _launch(self) -> None:
        assert self.data_dir is not None and self.log_path is not None
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_DROP}
        env_file = REPO / ".env"
        if env_file.is_file() and "RATELIMIT_ENABLED" in env_file.read_text(errors="replace"):
            log("warning: .env sets RATELIMIT_ENABLED; make run will apply it")
        cmd = ["make", "-C", str(REPO), "run", "HOST=127.0.0.1", f"PORT={port}", f"DATA_DIR={self.data_dir}"]
        cmd.append("WORKERS=2")
        log(f"starting: {' '.join(cmd)}")
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(  # own session: its own process group, stopped with killpg
                cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.healthy():
                log(f"server up at {self.url} (pid {self.proc.pid}, DATA_DIR {self.data_dir})")
                return
            time.sleep(0.3)
        raise RuntimeError(f"the server did not answer /health within 180 s:\n{self.log_tail()}")

    def healthy(self) -> bool:
        try:
            return requests.get(self.url + "/health", timeout=3).status_code in (200, 503)
        except requests.RequestException:
            return False

    def restart_if_down(self) -> bool:
        """Start the server again (same DATA_DIR) when the one started here stopped answering; True if it did."""
        if not self.started_here or self.healthy():
            return False
        for _ in range(10):  # a busy server may just be slow: give it a little time first
            time.sleep(1)
            if self.healthy():
                return False
        log("the server does not answer /health: restarting it")
        self.stop()
        self._launch()
        self.restarts += 1
        return True

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.is_file():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after 20 s."""
        if self.proc is None or (self.proc.poll() is not None and not self._group_alive()):
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self._group_alive():
            time.sleep(0.2)
        if self._group_alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)

    def _group_alive(self) -> bool:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        return any(p.status() != psutil.STATUS_ZOMBIE for p in self.processes())

    def processes(self) -> list[psutil.Process]:
        """The server's processes: the process group started here, else those listening on the port (+ children)."""
        found: dict[int, psutil.Process] = {}
        if self.proc is not None:
            for p in psutil.process_iter():
                with contextlib.suppress(psutil.Error, ProcessLookupError):
                    if os.getpgid(p.pid) == self.proc.pid:
                        found[p.pid] = p
            return list(found.values())
        if not self.listeners:  # looked up once: scanning every connection of the machine is slow
            with contextlib.suppress(psutil.Error):
                self.listeners = [
                    psutil.Process(conn.pid)
                    for conn in psutil.net_connections(kind="tcp")
                    if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == self.port and conn.pid
                ]
        for p in self.listeners:
            with contextlib.suppress(psutil.Error):
                for child in [p, *p.children(recursive=True)]:
                    found[child.pid] = child
        return list(found.values())

    def rss(self) -> int:
        total = 0
        for p in self.processes():
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total


def json_message(r: requests.Response | Exception | None) -> str | None:
    """The ``message`` of a JSON error body, or None (also for a failed request)."""
    if not isinstance(r, requests.Response):
        return None
    try:
        body = r.json()
    except ValueError:
        return None
    return body["message"] if isinstance(body, dict) and isinstance(body.get("message"), str) else None


def status_of(r: requests.Response | Exception) -> str:
    return str(r.status_code) if isinstance(r, requests.Response) else type(r).__name__


def counts(items: Iterable[str]) -> str:
    c = Counter(items)
    return ", ".join(f"{k}x{v}" for k, v in sorted(c.items())) or "none"


class Client:
    """One account of the server: register/login, and authenticated calls (thread-safe enough for this use)."""

    def __init__(self, server: Server, mail: str, password: str) -> None:
        self.server = server
        self.mail = mail
        self.password = password
        self.token = ""
        self.http = requests.Session()
        self.http.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=64))

    @property
    def base(self) -> str:
        return self.server.url

    @property
    def user_id(self) -> int:
        return int(jwt.decode(self.token, options={"verify_signature": False})["sub"])

    def auth_post(self, route: str, **kwargs: Any) -> requests.Response:
        """POST to /register or /login; a 429 is waited out once (Retry-After, at most 65 s)."""
        r = requests.post(self.base + route, timeout=TIMEOUT, **kwargs)
        if r.status_code == 429:
            retry_after = r.headers.get("Retry-After", "")
            wait = min(65.0, float(retry_after)) if retry_after.isdigit() else 60.0
            log(f"{route} answered 429: waiting {wait:.0f} s once")
            time.sleep(wait)
            r = requests.post(self.base + route, timeout=TIMEOUT, **kwargs)
        return r

    def register(self) -> Client:
        r = self.auth_post("/register", data={"mail": self.mail, "password": self.password})
        if r.status_code != 200:
            raise RuntimeError(f"register {self.mail}: {r.status_code} {r.text[:200]}")
        self.token = r.json()["token"]
        return self

    def login(self) -> str:
        """A new session's access token (the client's own token is unchanged)."""
        r = self.auth_post("/login", data={"mail": self.mail, "password": self.password})
        if r.status_code != 200:
            raise RuntimeError(f"login {self.mail}: {r.status_code} {r.text[:200]}")
        return str(r.json()["token"])

    def request(
        self, method: str, path: str, token: str | None = None, timeout: float = TIMEOUT, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("Authorization", f"Bearer {token or self.token}")
        return self.http.request(method, self.base + path, headers=headers, timeout=timeout, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def upload(self, lib: str, name: str, data: bytes, timeout: float = 120.0) -> requests.Response:
        files = {"file": (name, data, "application/octet-stream")}
        return self.post(f"/upload/{q(lib)}", files=files, timeout=timeout)

    def setup_upload(self, lib: str, name: str, data: bytes) -> requests.Response:
        """An upload that prepares a check: a 409 from a concurrent upload (finding 13) is retried twice."""
        r = self.upload(lib, name, data)
        for _ in range(2):
            if r.status_code != 409 or "concurrently" not in (json_message(r) or ""):
                break
            time.sleep(0.2)
            r = self.upload(lib, name, data)
        return r


def q(segment: str) -> str:
    """One URL path segment, percent-encoded."""
    return quote(segment, safe="")


def attempt(fn: Callable[[], requests.Response]) -> requests.Response | Exception:
    """A request's response, or the exception it raised (for counting in parallel runs)."""
    try:
        return fn()
    except requests.RequestException as exc:
        return exc


@dataclass
class Context:
    """What the findings share: the server, a run id, the accounts registered so far, the scale of the loops."""

    server: Server
    rounds: float
    work: Path
    run: str = field(default_factory=lambda: secrets.token_hex(3))
    users: dict[str, Client] = field(default_factory=dict)
    samples: set[tuple[str, str, str]] = field(default_factory=set)

    def scaled(self, n: int) -> int:
        return max(1, round(n * self.rounds))

    def user(self, key: str) -> Client:
        """The account ``key`` of this run, registered on first use (at most 3 accounts: main, second, heavy)."""
        if key not in self.users:
            mail = f"replay-{self.run}-{key}@example.org"
            self.users[key] = Client(self.server, mail, "Rp-" + secrets.token_urlsafe(18)).register()
        return self.users[key]

    def ensure_sample(self, key: str, lib: str, name: str, seconds: float = 0.3) -> None:
        """A small sample ``lib/name`` of user ``key`` (uploaded once per run)."""
        if (key, lib, name) in self.samples:
            return
        r = self.user(key).upload(lib, name, short_wav(np.random.default_rng(), seconds))
        if r.status_code != 200:
            raise RuntimeError(f"setup upload {lib}/{name}: {r.status_code} {r.text[:200]}")
        self.samples.add((key, lib, name))


Outcome = tuple[bool, str]


# --------------------------------------------------------------------------------------------------------------
# Findings
# --------------------------------------------------------------------------------------------------------------


def stored_files(ctx: Context, client: Client) -> tuple[int, int] | None:
    """(orphaned files, samples without a file) of the user in DATA_DIR/storage; None when not measurable."""
    if ctx.server.data_dir is None:
        return None
    referenced: set[str] = set()
    for lib in client.get("/get/libraries").json():
        listing = client.get(f"/get/library/{q(lib)}").json()
        for sample in listing["samples"]:
            r = client.get(f"/sample/{q(lib)}/{q(sample['name'])}")
            if r.status_code == 200:
                referenced.add(r.json()["contentHash"])
    folder = ctx.server.data_dir / "storage" / str(client.user_id)
    on_disk = {p.name.split(".", 1)[0] for p in folder.glob("*")} if folder.is_dir() else set()
    return len(on_disk - referenced), len(referenced - on_disk)


def finding_1(ctx: Context) -> Outcome:
    """An upload and a delete of the same content overlap: the audio must survive; replacements keep export valid."""
    c = ctx.user("main")
    rng = np.random.default_rng()
    rounds = ctx.scaled(150)
    lost, refused, setup_failed = 0, Counter[str](), 0
    barrier = threading.Barrier(2, timeout=30)

    def together(fn: Callable[[], requests.Response]) -> requests.Response | Exception:
        barrier.wait()
        return attempt(fn)

    with cf.ThreadPoolExecutor(2) as pool:
        for _ in range(rounds):
            data = short_wav(rng)
            if c.upload("RaceA", "x.wav", data).status_code != 200:
                setup_failed += 1
                continue
            c.delete("/sample/RaceB/y.wav")  # 404/400 when absent: ignored
            up = pool.submit(together, lambda d=data: c.upload("RaceB", "y.wav", d))
            rm = pool.submit(together, lambda: c.delete("/sample/RaceA/x.wav"))
            up_r, _ = up.result(), rm.result()
            if not isinstance(up_r, requests.Response) or up_r.status_code != 200:
                refused[status_of(up_r)] += 1
                continue
            g = c.get("/audio/RaceB/y.wav")
            if g.status_code != 200 or g.content != data:
                lost += 1
    # 50 parallel replacements of one name, then the library must still export.
    n_rep = ctx.scaled(50)
    c.upload("Rep", "one.wav", short_wav(rng))
    contents = [short_wav(rng) for _ in range(n_rep)]
    with cf.ThreadPoolExecutor(16) as pool:
        rep = list(pool.map(lambda d: attempt(lambda: c.upload("Rep", "one.wav", d)), contents))
    export = attempt(lambda: c.get("/export/Rep", timeout=60))
    export_ok = isinstance(export, requests.Response) and export.status_code == 200
    if export_ok:
        assert isinstance(export, requests.Response)
        try:
            with zipfile.ZipFile(io.BytesIO(export.content)) as z:
                export_ok = z.testzip() is None
        except zipfile.BadZipFile:
            export_ok = False
    files = stored_files(ctx, c)
    disk = "orphans not measurable (--url)" if files is None else f"{files[0]} orphaned file(s), {files[1]} missing"
    held = lost == 0 and export_ok and (files is None or files == (0, 0))
    return held, (
        f"{lost} of {rounds} rounds lost audio, upload of y.wav not 200 in {sum(refused.values())} "
        f"({counts(refused.elements())}), setup failed {setup_failed}; {n_rep} parallel replacements: "
        f"{counts(status_of(r) for r in rep)}, export {status_of(export)} {'valid ZIP' if export_ok else 'FAILED'}; "
        f"{disk}"
    )


def finding_2(ctx: Context) -> Outcome:
    """A FLAC decompression bomb uploaded 4 times at once: 4xx JSON, and the server's memory must stay flat."""
    c = ctx.user("main")
    bomb = ctx.work / "bomb.flac"
    if not bomb.is_file():
        write_bomb(bomb)
    data = bomb.read_bytes()
    measurable = bool(ctx.server.processes())
    baseline = ctx.server.rss()
    peak = baseline
    stop = threading.Event()

    def sample_rss() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, ctx.server.rss())
            time.sleep(0.05)

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    t0 = time.monotonic()
    try:
        with cf.ThreadPoolExecutor(4) as pool:
            results = list(
                pool.map(lambda i: attempt(lambda: c.upload("Bomb", f"bomb{i}.flac", data, timeout=300)), range(4))
            )
    finally:
        stop.set()
        sampler.join(timeout=5)
    elapsed = time.monotonic() - t0
    answers = [status_of(r) + ("" if json_message(r) else " (no JSON message)") for r in results]
    rejected = all(isinstance(r, requests.Response) and 400 <= r.status_code < 500 and json_message(r) for r in results)
    rise = (peak - baseline) / MB
    memory_ok = rise < 300 if measurable else True
    first = next((json_message(r) for r in results if isinstance(r, requests.Response) and json_message(r)), "")
    rss_text = f"RSS rise {rise:.0f} MB (baseline {baseline / MB:.0f} MB)" if measurable else "RSS not measurable"
    return rejected and memory_ok, (
        f"{len(data) / 1000:.0f} KB FLAC x4: {counts(answers)} in {elapsed:.1f} s; {rss_text}; e.g. {first[:90]!r}"
    )


def finding_3(ctx: Context) -> Outcome:
    """Two users create the same new tag at once; 6 parallel /usertags: no 5xx."""
    users = [ctx.user("main"), ctx.user("second")]
    for key in ("main", "second"):
        ctx.ensure_sample(key, "TagLib", "s.wav")
    statuses: Counter[str] = Counter()
    rounds_a, rounds_b = ctx.scaled(30), ctx.scaled(40)

    def run_round(calls: list[Callable[[], requests.Response]], pool: cf.ThreadPoolExecutor) -> None:
        barrier = threading.Barrier(len(calls), timeout=30)

        def go(fn: Callable[[], requests.Response]) -> requests.Response | Exception:
            barrier.wait()
            return attempt(fn)

        for r in pool.map(go, calls):
            statuses[status_of(r)] += 1

    with cf.ThreadPoolExecutor(6) as pool:
        for i in range(rounds_a):
            body = {"tags": [f"newtag-{ctx.run}-{i}"]}
            run_round([lambda u=u, b=body: u.put("/sampletag/update/TagLib/s.wav", json=b) for u in users], pool)
        for i in range(rounds_b):
            body = [{"name": "s.wav", "customTags": [f"fresh-{ctx.run}-{i}"]}]
            calls = [lambda u=users[k % 2], b=body: u.post("/usertags/TagLib", json=b) for k in range(6)]
            run_round(calls, pool)
    bad = sum(v for k, v in statuses.items() if not k.isdigit() or int(k) >= 500)
    total = sum(statuses.values())
    return bad == 0, (
        f"{rounds_a} rounds x 2 users PUT /sampletag/update + {rounds_b} rounds x 6 POST /usertags: "
        f"{bad} of {total} answers 5xx or failed ({counts(statuses.elements())})"
    )


def finding_4(ctx: Context) -> Outcome:
    """User A keeps 8 analyses waiting (/tags); user B's /get/libraries must stay fast."""
    a, b = ctx.user("heavy"), ctx.user("second")
    rng = np.random.default_rng()
    jobs = [
        (f"Starve-{i}", f"long-{k}.wav", encode(noise(rng, rng.uniform(20, 50)), 22050))
        for i in range(8)
        for k in range(3)
    ]
    with cf.ThreadPoolExecutor(4) as pool:
        ups = list(pool.map(lambda job: attempt(lambda: a.setup_upload(*job)), jobs))
    upload_text = counts(status_of(r) for r in ups)
    b.get("/get/libraries")  # B's connection is open before the measurement
    wait_limit = 600.0
    pool = cf.ThreadPoolExecutor(8)
    t_start = time.monotonic()
    waits = [pool.submit(attempt, lambda i=i: a.get(f"/tags/Starve-{i}", timeout=wait_limit)) for i in range(8)]

    # B asks every 200 ms for 10 s, whether or not the earlier answers came (a starved server shows as latency).
    def timed(_: int) -> tuple[float, requests.Response | Exception]:
        t0 = time.monotonic()
        r = attempt(lambda: b.get("/get/libraries", timeout=15))
        return time.monotonic() - t0, r

    b_pool = cf.ThreadPoolExecutor(50)
    probes = []
    for i in range(50):
        time.sleep(max(0.0, t_start + 1.0 + 0.2 * i - time.monotonic()))
        probes.append(b_pool.submit(timed, i))
    b_pool.shutdown(wait=True)
    latencies = [f.result()[0] for f in probes]
    failures = Counter(status_of(r) for _, r in (f.result() for f in probes) if status_of(r) != "200")
    log("finding 4: waiting for A's /tags requests to finish (the analyses run meanwhile)")
    done, not_done = cf.wait(waits, timeout=wait_limit + 30)
    pool.shutdown(wait=False, cancel_futures=True)
    a_answers = [f.result() for f in done]
    a_text = counts(
        f"{status_of(r)}{'' if not isinstance(r, requests.Response) or r.ok or json_message(r) else '(no JSON)'}"
        for r in a_answers
    )
    a_bad = sum(
        1 for r in a_answers if isinstance(r, requests.Response) and r.status_code == 429 and not json_message(r)
    )
    p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 2 else max(latencies, default=99.0)
    worst = max(latencies, default=99.0)
    held = p95 < 1.0 and worst < 2.0 and not failures and a_bad == 0
    return held, (
        f"A: 24 uploads {upload_text}, 8 parallel /tags -> {a_text}"
        f"{f', {len(not_done)} still waiting' if not_done else ''} after {time.monotonic() - t_start:.0f} s; "
        f"B: {len(latencies)} GET /get/libraries, p95 {p95:.2f} s, max {worst:.2f} s"
        f"{f', failed {counts(failures.elements())}' if failures else ''}"
    )


def _b64url(part: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return None


def finding_5(ctx: Context) -> Outcome:
    """Crafted input (deep JSON, lone surrogates, odd digits, odd token claims): 400/401 with a JSON message."""
    c = ctx.user("main")
    ctx.ensure_sample("main", "TagLib", "s.wav")
    json_headers = {"Content-Type": "application/json"}
    deep = "[" * 100_000
    surrogate_login = '{"mail": "\\ud800@x.org", "password": "a long enough password 1"}'
    surrogate_tags = '[{"name": "\\ud800", "customTags": ["x"]}]'
    checks: list[tuple[str, Callable[[], requests.Response]]] = [
        ("deep /sampletag", lambda: c.put("/sampletag/update/TagLib/s.wav", data=deep, headers=json_headers)),
        ("deep /usertags", lambda: c.post("/usertags/TagLib", data=deep, headers=json_headers)),
        ("deep /login", lambda: c.auth_post("/login", data=deep, headers=json_headers)),
        ("deep /register", lambda: c.auth_post("/register", data=deep, headers=json_headers)),
        ("surrogate /login", lambda: c.auth_post("/login", data=surrogate_login, headers=json_headers)),
        ("surrogate /register", lambda: c.auth_post("/register", data=surrogate_login, headers=json_headers)),
        ("surrogate /usertags", lambda: c.post("/usertags/TagLib", data=surrogate_tags, headers=json_headers)),
        ("/similar n=²", lambda: c.get("/similar/TagLib/s.wav", params={"n": "²"})),
    ]
    skipped = ""
    if ctx.server.data_dir is not None:
        secret = (ctx.server.data_dir / "secret_key").read_text().strip()
        real = jwt.decode(c.token, options={"verify_signature": False})

        def forged(**changes: Any) -> str:
            claims = {**real, "jti": str(uuid.uuid4()), "sid": uuid.uuid4().hex, **changes}
            claims = {k: v for k, v in claims.items() if v is not None}
            return jwt.encode(claims, secret, algorithm="HS256")

        variants = {
            "sid list": forged(sid=["a", "b"]),
            "sid object": forged(sid={"a": 1}),
            "sub ²": forged(sub="²"),
            "sub 40 digits": forged(sub="1234567890123456789012345678901234567890"),
        }
        for label, token in variants.items():
            checks.append((f"token {label} /get/libraries", lambda t=token: c.get("/get/libraries", token=t)))
            checks.append((f"token {label} /logout", lambda t=token: c.post("/logout", token=t)))
        no_iat = forged(iat=None)
        checks.append(("token without iat /logout", lambda: c.post("/logout", token=no_iat)))
    else:
        skipped = "; signed-token checks skipped (--url: no secret)"
    failed = []
    for label, fn in checks:
        r = attempt(fn)
        ok = isinstance(r, requests.Response) and r.status_code in (400, 401) and json_message(r) is not None
        if not ok:
            failed.append(f"{label}: {status_of(r)}")
    return not failed, (
        f"{len(checks) - len(failed)} of {len(checks)} answered 400/401 JSON"
        f"{'; failed: ' + ', '.join(failed) if failed else ''}{skipped}"
    )


def finding_6(ctx: Context) -> Outcome:
    """25 wrong logins from one client within seconds: at most 10 answer 401 (the limit holds across workers)."""
    c = ctx.user("main")
    url = ctx.server.url + "/login"

    def wrong_login(_: int) -> requests.Response | Exception:
        # A new connection each time, so that the attempts spread over the gunicorn workers.
        data = {"mail": c.mail, "password": "wrong password " + secrets.token_hex(4)}
        return attempt(lambda: requests.post(url, data=data, headers={"Connection": "close"}, timeout=TIMEOUT))

    t0 = time.monotonic()
    with cf.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(wrong_login, range(25)))
    elapsed = time.monotonic() - t0
    statuses = Counter(status_of(r) for r in results)
    n401 = statuses.get("401", 0)
    others = sum(v for k, v in statuses.items() if k not in ("401", "429"))
    messages = {json_message(r) for r in results if isinstance(r, requests.Response) and r.status_code == 429}
    account = [m for m in messages if m and "account" in m.lower()]
    info = (
        f"per-account limit answered 429: {account[0][:80]!r}"
        if account
        else "per-account limit not reached within the per-client limit (info)"
    )
    return n401 <= 10 and others == 0, (
        f"25 wrong logins in {elapsed:.1f} s: {n401} answered 401, {statuses.get('429', 0)} answered 429"
        f"{f', {others} other' if others else ''} ({counts(statuses.elements())}); {info}"
    )


def finding_7(ctx: Context) -> Outcome:
    """Weak passwords are refused at registration."""
    base = ctx.server.url
    failed, answers = [], []
    for i, label in enumerate(("12345678", "password", "8 spaces", "the mail")):
        mail = f"weak-{ctx.run}-{i}@example.org"
        password = {"8 spaces": " " * 8, "the mail": mail}.get(label, label)
        r = Client(Server(base), mail, password).auth_post("/register", data={"mail": mail, "password": password})
        answers.append(f"{label}: {r.status_code}")
        if r.status_code != 400 or json_message(r) is None:
            failed.append(label)
    return not failed, "; ".join(answers)


TO_REFUSE = [  # format, subtype, file extension, words that name the format
    ("AU", "PCM_16", "au", ("au", "sun", "next", "snd")),
    ("CAF", "PCM_16", "caf", ("caf", "core audio")),
    ("VOC", "PCM_16", "voc", ("voc", "creative")),
    ("NIST", "PCM_16", "nist", ("nist", "sphere")),
    ("IRCAM", "PCM_16", "sf", ("ircam", "bicsf")),
    ("XI", "DPCM_16", "xi", ("xi", "fasttracker")),
    ("MAT5", "PCM_16", "mat", ("mat5", "mat", "matlab")),
    ("SVX", "PCM_16", "8svx", ("svx", "8svx", "iff")),
    ("HTK", "PCM_16", "htk", ("htk",)),
    ("W64", "PCM_16", "w64", ("w64", "wave64")),
    ("RF64", "PCM_16", "wav", ("rf64",)),
]
TO_ACCEPT = [
    ("WAV", "PCM_16", "wav"),
    ("AIFF", "PCM_16", "aiff"),
    ("FLAC", "PCM_16", "flac"),
    ("OGG", "VORBIS", "ogg"),
    ("MP3", "MPEG_LAYER_III", "mp3"),
]


def finding_8(ctx: Context) -> Outcome:
    """Formats other than WAV, AIFF, FLAC, OGG/Vorbis and MP3 are refused with 415 naming the format."""
    c = ctx.user("main")
    lib = f"Formats-{ctx.run}"
    failed, skipped, refused, accepted = [], [], 0, 0
    for i, (fmt, subtype, ext, words) in enumerate(TO_REFUSE):
        name = f"probe-{i:02d}.{ext}"
        try:
            data = encode(kick(seed=i), 44100, fmt, subtype)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            skipped.append(f"{fmt} ({exc})")
            log(f"finding 8: soundfile cannot write {fmt} here: skipped")
            continue
        r = c.upload(lib, name, data)
        text = (json_message(r) or "").replace(name, "")
        named = any(re.search(rf"\b{re.escape(w)}\b", text, re.IGNORECASE) for w in words)
        if r.status_code == 415 and named:
            refused += 1
        else:
            failed.append(f"{fmt}: {r.status_code}{'' if named else ' (format not named)'}")
    for i, (fmt, subtype, ext) in enumerate(TO_ACCEPT):
        data = encode(kick(seed=100 + i), 44100, fmt, subtype)
        r = c.upload(lib, f"good-{i:02d}.{ext}", data)
        if r.status_code == 200:
            accepted += 1
        else:
            failed.append(f"{fmt} refused: {r.status_code}")
    tested = len(TO_REFUSE) - len(skipped)
    return not failed, (
        f"{refused} of {tested} other formats answered 415 naming the format, {accepted} of {len(TO_ACCEPT)} "
        f"supported formats accepted{'; failed: ' + ', '.join(failed) if failed else ''}"
        f"{'; skipped: ' + ', '.join(skipped) if skipped else ''}"
    )


def disposition_names(header: str) -> list[str]:
    """The decoded values of the filename / filename* parameters of a Content-Disposition header."""
    names = []
    for key, value in re.findall(r'(filename\*?)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)', header, re.IGNORECASE):
        value = value.strip()
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        if key.endswith("*"):
            value = unquote(value.split("'", 2)[-1], errors="replace")
        names.append(value)
    return names


def finding_9(ctx: Context) -> Outcome:
    """The export's file name must not carry path separators or '..', even from fullwidth look-alikes."""
    c = ctx.user("main")
    lib = "／..／..／..／tmp／evil"
    up = c.upload(lib, "one.wav", short_wav(np.random.default_rng()))
    if up.status_code == 400:
        return True, f"the library name is refused at upload (400: {json_message(up)!r}); nothing to export"
    r = c.get(f"/export/{q(lib)}", timeout=60)
    header = r.headers.get("Content-Disposition", "")
    names = disposition_names(header)
    bad = [n for n in names if "/" in n or "\\" in n or ".." in n]
    held = r.status_code == 200 and bool(names) and not bad
    return held, f"upload {up.status_code}, export {r.status_code}, Content-Disposition: {header[:160]!r}"


def tmp_files_open(server: Server, folder: Path) -> list[int]:
    """Sizes of the files under ``folder`` that the server's processes hold open (also deleted ones) or that exist."""
    sizes = []
    prefix = str(folder.resolve())
    for p in server.processes():
        fd_dir = Path(f"/proc/{p.pid}/fd")
        with contextlib.suppress(OSError):
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd).startswith(prefix):
                        sizes.append(os.stat(fd).st_size)
    if folder.is_dir():
        for path in folder.iterdir():
            with contextlib.suppress(OSError):
                sizes.append(path.stat().st_size)
    return sizes


def finding_10(ctx: Context) -> Outcome:
    """/health reports free disk space; /export streams (Content-Length, no zip-sized temporary file)."""
    c = ctx.user("main")
    health = requests.get(ctx.server.url + "/health", timeout=TIMEOUT)
    body = health.json() if health.headers.get("Content-Type", "").startswith("application/json") else {}
    disk_free = "diskFree" in body
    lib = f"Big-{ctx.run}"
    rng = np.random.default_rng()
    total = 0
    for i in range(4):
        data = encode(np.stack([noise(rng, 20, 44100)] * 2, axis=1), 44100)
        total += len(data)
        c.upload(lib, f"big-{i}.wav", data)
    largest_tmp = -1
    with c.get(f"/export/{q(lib)}", stream=True, timeout=120) as r:
        length = r.headers.get("Content-Length")
        chunks = r.iter_content(64 * 1024)
        first = next(chunks, b"")
        if ctx.server.data_dir is not None:
            largest_tmp = max(tmp_files_open(ctx.server, ctx.server.data_dir / "tmp"), default=0)
        content = first + b"".join(chunks)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            valid = z.testzip() is None
    except zipfile.BadZipFile:
        valid = False
    no_tmp = largest_tmp < total // 2
    tmp_text = f"largest file in DATA_DIR/tmp {largest_tmp / MB:.1f} MB" if largest_tmp >= 0 else "tmp unchecked"
    evidence = (
        f"/health {'has' if disk_free else 'lacks'} diskFree; export of {total / MB:.1f} MB: {r.status_code}, "
        f"Content-Length {length or 'absent'}, {'valid ZIP' if valid else 'INVALID ZIP'}, {tmp_text} during download"
    )
    held = disk_free and bool(length) and valid and r.status_code == 200 and no_tmp
    if held:
        return True, "partial: full disk covered by tests/backend/test_disk_full.py; " + evidence
    return False, evidence


def finding_11(ctx: Context) -> Outcome:
    """Signed audio links die with their session and do not reveal their content."""
    c = ctx.user("main")
    ctx.ensure_sample("main", "Links", "s.wav")
    session = c.login()
    r = c.get("/audio-url/Links/s.wav", token=session)
    if r.status_code != 200:
        return False, f"/audio-url answered {r.status_code}"
    url = urljoin(ctx.server.url + "/", r.json()["url"])
    if urlsplit(url).hostname not in LOCAL_HOSTS:
        return False, f"the link points elsewhere ({urlsplit(url).hostname}): not fetched"
    before = requests.get(url, timeout=TIMEOUT).status_code
    out = c.post("/logout", token=session).status_code
    after = requests.get(url, timeout=TIMEOUT).status_code
    token = parse_qs(urlsplit(url).query).get("token", [""])[0]
    readable = []
    for part in token.split("."):
        raw = _b64url(part)
        if raw is None:
            continue
        for candidate in (raw, _inflate(raw)):
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                decoded = json.loads(candidate) if candidate else None
                if isinstance(decoded, dict) and ({"u", "s"} & decoded.keys()):
                    readable.append(sorted(decoded))
    held = after == 401 and not readable
    return held, (
        f"link before logout {before}, logout {out}, link after logout {after}; token "
        f"{'readable: keys ' + str(readable[0]) if readable else 'opaque'}"
    )


def _inflate(raw: bytes) -> bytes | None:
    try:
        return zlib.decompress(raw)
    except zlib.error:
        return None


def finding_12(ctx: Context) -> Outcome:
    """/analyze of an up-to-date library does not create a new job per call."""
    c = ctx.user("main")
    lib = f"Analysed-{ctx.run}"
    for i in range(2):
        c.upload(lib, f"kick-{i}.wav", encode(kick(seed=200 + i), 44100))
    tags = c.get(f"/tags/{q(lib)}", timeout=300)
    if tags.status_code != 200:
        return False, f"/tags answered {tags.status_code}: the library could not be brought up to date"
    n = ctx.scaled(50)
    with cf.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: attempt(lambda: c.get(f"/analyze/{q(lib)}")), range(n)))
    jobs = {r.json().get("job") for r in answers if isinstance(r, requests.Response) and r.status_code == 200}
    return len(jobs) <= 1 and len(answers) == n, (
        f"{n} GET /analyze on an up-to-date library: {counts(status_of(r) for r in answers)}, "
        f"{len(jobs)} distinct job id(s)"
    )


def raw_request(server: Server, head: str, body: bytes, timeout: float = 30.0) -> tuple[int | None, bytes]:
    """Send a request over a plain socket, stopping the upload as soon as the server answers; (status, body)."""
    host, port = "127.0.0.1", server.port
    deadline = time.monotonic() + timeout
    received = b""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1"))
        sent = 0
        with contextlib.suppress(OSError):
            while sent < len(body) and time.monotonic() < deadline:
                readable, writable, _ = select.select([sock], [sock], [], 1.0)
                if readable:
                    break
                if writable:
                    sent += sock.send(body[sent : sent + 65536])
        with contextlib.suppress(OSError):
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                header_end = received.find(b"\r\n\r\n")
                if header_end >= 0:
                    m = re.search(rb"content-length:\s*(\d+)", received[:header_end], re.IGNORECASE)
                    if m and len(received) >= header_end + 4 + int(m.group(1)):
                        break
    m = re.match(rb"HTTP/1\.[01] (\d{3})", received)
    header_end = received.find(b"\r\n\r\n")
    return (int(m.group(1)) if m else None), (received[header_end + 4 :] if header_end >= 0 else b"")


ODD_RANGES = ("bytes=", "garbage", "items=0-1")
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def zip_name_problems(names: list[str]) -> list[str]:
    """Why entry names of a ZIP would not extract cleanly on Windows / case-insensitive file systems."""
    problems = []
    for name in names:
        for part in name.rstrip("/").split("/"):
            if ":" in part:
                problems.append(f"':' in {name!r}")
            if part.split(".")[0].strip().upper() in WINDOWS_RESERVED:
                problems.append(f"reserved name {name!r}")
            if part != part.rstrip(". "):
                problems.append(f"trailing dot/space in {name!r}")
    folded = Counter(unicodedata.normalize("NFC", n).casefold() for n in names)
    problems += [f"case-insensitive duplicate {n!r}" for n, k in folded.items() if k > 1]
    return problems


def finding_13(ctx: Context) -> Outcome:
    """Contract gaps: each sub-check must hold."""
    c = ctx.user("main")
    ctx.ensure_sample("main", "Links", "s.wav")
    ctx.ensure_sample("main", "TagLib", "s.wav")  # the 5 MB body goes to an existing library
    rng = np.random.default_rng()
    results: list[tuple[str, bool, str]] = []

    def check(name: str, ok: bool, detail: str) -> None:
        results.append((name, ok, detail))

    def is_json(r: requests.Response) -> bool:
        return r.headers.get("Content-Type", "").startswith("application/json")

    for label, r in (
        ("10KB header", c.get("/get/libraries", headers={"X-Long": "a" * 10240})),
        ("6KB path", c.get(f"/sample/Links/{'a' * 6000}.wav")),
    ):
        ok = is_json(r) and r.status_code not in (414, 431)
        check(label, ok, f"{r.status_code} {'JSON' if is_json(r) else r.headers.get('Content-Type', 'no type')}")

    fields: list[tuple[str, Any]] = [(f"f{i}", (None, "x")) for i in range(1100)]
    fields.append(("file", ("parts.wav", short_wav(rng), "audio/wav")))
    r = c.post(f"/upload/Parts-{ctx.run}", files=fields)
    msg = json_message(r) or ""
    check("1100 form parts", r.status_code == 413 and "part" in msg.lower(), f"{r.status_code} {msg[:60]!r}")

    ranges = {v: c.get("/audio/Links/s.wav", headers={"Range": v}).status_code for v in ODD_RANGES}
    check("odd Range", all(s == 200 for s in ranges.values()), ", ".join(f"{k!r}: {s}" for k, s in ranges.items()))

    entry = b'{"name": "x.wav", "customTags": ["a"]},'
    big = b"[" + entry * (5 * MB // len(entry)) + b'{"name": "x.wav", "customTags": []}]'
    head = (
        f"POST /usertags/TagLib HTTP/1.1\r\nHost: 127.0.0.1:{ctx.server.port}\r\nAuthorization: Bearer {c.token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(big)}\r\nConnection: close\r\n\r\n"
    )
    t0 = time.monotonic()
    status, answer = raw_request(ctx.server, head, big)
    elapsed = time.monotonic() - t0
    try:
        said = json.loads(answer).get("message", "")
    except (ValueError, AttributeError):
        said = answer[:60].decode("latin-1")
    check("5MB JSON", status == 413 and elapsed < 2.0, f"{status} in {elapsed:.2f} s {str(said)[:60]!r}")

    first_lib = f"First-{ctx.run}"
    barrier = threading.Barrier(8, timeout=30)
    contents = [short_wav(rng) for _ in range(8)]

    def first_upload(i: int) -> requests.Response | Exception:
        barrier.wait()
        return attempt(lambda: c.upload(first_lib, f"n{i}.wav", contents[i]))

    with cf.ThreadPoolExecutor(8) as pool:
        firsts = list(pool.map(first_upload, range(8)))
    check(
        "8 first uploads",
        all(isinstance(x, requests.Response) and x.status_code == 200 for x in firsts),
        counts(status_of(x) for x in firsts),
    )

    names_lib = f"Names-{ctx.run}"
    refused = []
    for i, name in enumerate(("con.wav", "a:b.wav", "x.wav.", "Kick.wav", "kick.wav")):
        up = c.upload(names_lib, name, encode(kick(seed=300 + i), 44100))
        if up.status_code == 400:
            refused.append(name)
        elif up.status_code != 200:
            refused.append(f"{name} ({up.status_code})")
    r = c.get(f"/export/{q(names_lib)}", timeout=60)
    try:
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            problems = zip_name_problems(z.namelist())
    except zipfile.BadZipFile:
        problems = [f"export {r.status_code}: not a ZIP"]
    check(
        "ZIP entry names",
        not problems,
        ("; ".join(problems[:4]) or "clean") + (f" (refused at upload: {', '.join(refused)})" if refused else ""),
    )

    if ctx.server.data_dir is not None:
        data_dir = str(ctx.server.data_dir.resolve())
        sockets = set()
        for p in ctx.server.processes():
            with contextlib.suppress(psutil.Error):
                for conn in p.net_connections(kind="unix"):
                    path = conn.laddr if isinstance(conn.laddr, str) else ""
                    if path and not path.startswith(("\0", "@")) and not path.startswith(data_dir):
                        sockets.add(path)
        check("control socket", not sockets, ", ".join(sorted(sockets)) or "none outside DATA_DIR")
    failed = [f"{n}: {d}" for n, ok, d in results if not ok]
    return not failed, (
        f"{len(results) - len(failed)} of {len(results)} sub-checks held"
        + (f"; failed: {' | '.join(failed)}" if failed else "")
        + ("" if ctx.server.data_dir is not None else "; control-socket check skipped (--url)")
    )


FINDINGS: dict[int, tuple[str, Callable[[Context], Outcome]]] = {
    1: ("upload/delete race loses audio", finding_1),
    2: ("decompression bomb", finding_2),
    3: ("tag creation races", finding_3),
    4: ("one user starves everyone", finding_4),
    5: ("500s from crafted input", finding_5),
    6: ("login rate limit across workers", finding_6),
    7: ("weak passwords", finding_7),
    8: ("unsupported formats", finding_8),
    9: ("download file names", finding_9),
    10: ("disk full / export streaming", finding_10),
    11: ("signed audio links", finding_11),
    12: ("repeated /analyze jobs", finding_12),
    13: ("contract gaps", finding_13),
}
LAST = (6,)  # exhausts the login rate limit: always replayed last
# The accounts of a run and the findings that use them: 3 registrations at most (plus 2 in finding 5, 4 in 7).
USERS_NEEDED = {"main": {1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 13}, "second": {3, 4}, "heavy": {4}}


# --------------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--url", help="use this already running server (127.0.0.1 only) instead of starting one")
    p.add_argument("--only", help="comma-separated finding numbers, e.g. 1,12")
    p.add_argument("--rounds", type=float, default=1.0, help="scaling factor for the race loops (default 1)")
    p.add_argument("--out", type=Path, help="also write the report to this file")
    p.add_argument("--keep-data", action="store_true", help="keep the temporary DATA_DIR of a server started here")
    args = p.parse_args(argv)
    if args.url and urlsplit(args.url).hostname not in LOCAL_HOSTS:
        p.error("--url must point at 127.0.0.1 (or localhost)")
    if args.rounds <= 0:
        p.error("--rounds must be positive")
    return args


def selected(only: str | None) -> list[int]:
    numbers = sorted(FINDINGS) if not only else sorted({int(x) for x in only.split(",") if x.strip()})
    unknown = [n for n in numbers if n not in FINDINGS]
    if unknown:
        raise SystemExit(f"unknown finding(s): {unknown}")
    return [n for n in numbers if n not in LAST] + [n for n in numbers if n in LAST]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    numbers = selected(args.only)
    work = Path(tempfile.mkdtemp(prefix="replay-hostile-"))
    lines: list[str] = []
    server: Server | None = None
    started = time.monotonic()

    def emit(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    def on_term(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        if args.url:
            server = Server(url=args.url.rstrip("/").replace("localhost", "127.0.0.1"))
            if not server.healthy():
                raise SystemExit(f"no server answers {server.url}/health")
        else:
            server = Server.start(work / "data")
        ctx = Context(server=server, rounds=args.rounds, work=work)
        for key, needed_by in USERS_NEEDED.items():  # register up front (register is rate limited: 10/min)
            if needed_by & set(numbers):
                ctx.user(key)
        held_count = 0
        for n in numbers:
            title, fn = FINDINGS[n]
            if server.restart_if_down():
                log(f"server restarted before finding {n}")
            log(f"finding {n}: {title} ...")
            t0 = time.monotonic()
            try:
                held, evidence = fn(ctx)
            except Exception as exc:  # a finding that crashes counts as not held, the others still run
                held, evidence = False, f"check failed: {type(exc).__name__}: {str(exc)[:300]}"
            evidence += f"; {time.monotonic() - t0:.1f} s"
            held_count += held
            verdict = "held" if held else "NOT HELD"
            if held and evidence.startswith("partial: "):  # "partial: <what is not replayed>; <evidence>"
                note, evidence = evidence.removeprefix("partial: ").split("; ", 1)
                verdict = f"held (partial: {note})"
            emit(f"finding {n:<2}  {title}  {verdict}  ({evidence})")
        total = len(numbers)
        emit(f"summary: {held_count} of {total} held" + ("" if total == 13 else f" (findings {args.only})"))
        log(f"took {time.monotonic() - started:.0f} s; server restarts: {server.restarts}")
        return 0 if held_count == total else 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if server is not None and server.started_here:
            server.stop()
            log("server stopped")
        if args.out is not None and lines:
            args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if args.keep_data:
            log(f"data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
