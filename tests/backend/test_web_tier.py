"""The web tier never loads TensorFlow or Keras: every route served by a process like gunicorn's (no analysis in
it), on a library that a worker analysed (issue 22)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from backend import JOBS_KEY
from tests.audio_factory import kick, write
from tests.backend.conftest import PASSWORD, AppFactory, database_env, drum_kit, register

ROOT = Path(__file__).resolve().parents[2]


def test_serving_every_route_never_imports_tensorflow(make_app: AppFactory, tmp_path: Path) -> None:
    data_dir = tmp_path / "instance"
    app = make_app(data_dir)  # this (test) process is the worker: it analyses the library in its threads
    user = register(app.test_client())
    for path in drum_kit(tmp_path / "kit", 6):
        user.stored("Drums", path, f"Kit/{path.name}")
    assert user.get("/tags/Drums").status_code == 200
    assert user.put("/samplefavorite/update/Drums/Kit/hit_000.wav", json={"isFavorite": True}).status_code == 200
    extra = write(tmp_path / "new_kick.wav", kick(0.5, seed=77))
    runner = app.extensions[JOBS_KEY]
    runner.stop()  # no worker from here on: what the probe uploads stays pending
    runner.join(timeout=30)

    env = {**os.environ, "DATA_DIR": str(data_dir), "RATELIMIT_ENABLED": "false", "TAGS_WAIT_SECONDS": "0.5"}
    env.update(database_env(data_dir))
    probe = subprocess.run(
        [sys.executable, "-m", "tests.web_probe", user.mail, PASSWORD, "Drums", str(extra)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    assert report["unreached"] == [], report["unreached"]
    errors = [r for r in report["requests"] if r[2] >= 500 and r[1] != "/tags/Drums"]
    assert errors == [], errors
    statuses = {(method, path): status for method, path, status in report["requests"]}
    assert statuses[("GET", "/similar/Drums/Kit/hit_000.wav?n=3")] == 200
    assert statuses[("GET", "/map/Drums")] == 200
    assert statuses[("POST", "/upload/Drums")] == 200
    # the new upload is pending: /tags waits for a worker (none here) and gives up; it never analyses itself
    assert [r[2] for r in report["requests"] if r[:2] == ["GET", "/tags/Drums"]] == [200, 503]
    assert report["heavyModules"] == [], report["heavyModules"][:10]
