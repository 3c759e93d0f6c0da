"""Scale-out (issue 22): gunicorn on PostgreSQL, 2 Celery workers on Redis; one worker SIGKILLed in the middle of a
chunk; the job completes with every sample analysed exactly once, and the web processes never loaded TensorFlow."""

from __future__ import annotations

import re
import time
from pathlib import Path

import psutil
import psycopg
import pytest
import requests

from tests.backend.conftest import PASSWORD, drum_kit
from tests.scaleout.conftest import Stack

N_SAMPLES = 24
TASK_LINE = re.compile(r"Task drumsampler\.analyse_chunk\[([0-9a-f-]+)\] (received|succeeded)")


def running_chunks(log: str) -> set[str]:
    """Chunk tasks that the worker received and has not finished, from its log."""
    received, finished = set(), set()
    for task, what in TASK_LINE.findall(log):
        (received if what == "received" else finished).add(task)
    return received - finished


def web_processes(stack: Stack) -> list[psutil.Process]:
    assert stack.web is not None
    master = psutil.Process(stack.web.pid)
    return [master, *master.children(recursive=True)]


def loaded_tensorflow(process: psutil.Process) -> list[str]:
    """The TensorFlow libraries mapped into the process (what its ``import tensorflow`` would have loaded)."""
    return sorted({m.path for m in process.memory_maps() if "tensorflow" in m.path.lower()})


@pytest.mark.slow
def test_a_worker_killed_mid_chunk_loses_nothing(stack: Stack, tmp_path: Path) -> None:
    stack.env.update({"ANALYSIS_CHUNK": "2", "CELERY_VISIBILITY_TIMEOUT": "12"})
    url = stack.start_web()
    for name in ("w1", "w2"):
        stack.start_worker(name)
    stack.wait_ready("w1", "w2")
    token = requests.post(f"{url}/register", data={"mail": "scale@example.org", "password": PASSWORD}, timeout=30)
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    for path in drum_kit(tmp_path / "kit", N_SAMPLES):
        with open(path, "rb") as fh:
            answer = requests.post(f"{url}/upload/Kit", files={"file": (path.name, fh)}, headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text

    job = requests.get(f"{url}/analyze/Kit", headers=headers, timeout=30).json()["job"]
    deadline = time.monotonic() + 300
    while True:  # kill w1 while it runs a chunk, once both workers have stored something
        assert time.monotonic() < deadline, "w1 never ran a chunk"
        body = requests.get(f"{url}/jobs/{job}", headers=headers, timeout=30).json()
        assert body["state"] not in ("done", "failed"), (
            f"the job ended before w1 could be killed mid-chunk: {body}\n"
            f"w1:\n{stack.worker_log('w1')[-2000:]}\nw2:\n{stack.worker_log('w2')[-2000:]}"
        )
        log = stack.worker_log("w1")
        if body["done"] >= 4 and "succeeded" in stack.worker_log("w2") and running_chunks(log):
            stack.kill_worker("w1")
            break
        time.sleep(0.05)
    interrupted = running_chunks(stack.worker_log("w1"))
    assert interrupted, "w1 must have been killed in the middle of a chunk"

    while body["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, f"the job did not finish: {body}"
        time.sleep(0.25)
        body = requests.get(f"{url}/jobs/{job}", headers=headers, timeout=30).json()
    assert body["state"] == "done", body
    assert body["done"] == body["total"] == N_SAMPLES
    assert body["failed"] == []
    # the chunk w1 was running is delivered again after its visibility timeout and finished by w2. The job may be done
    # before that (w1 can die after storing its chunk, before acknowledging it): celery logs "succeeded" before it
    # acknowledges, so an unfinished chunk in w1's log was never acknowledged and does come back; finished late, it
    # finds nothing pending (every sample is still analysed once, below)
    while not interrupted & {task for task, what in TASK_LINE.findall(stack.worker_log("w2")) if what == "succeeded"}:
        assert time.monotonic() < deadline, f"w2 never finished {interrupted}:\n{stack.worker_log('w2')[-2000:]}"
        time.sleep(0.25)

    with psycopg.connect(stack.postgres.url().replace("postgresql+psycopg", "postgresql")) as connection:
        rows = connection.execute(
            "SELECT name, analysis_runs, analyzed_hash = content_hash, auto_tag, embedding IS NOT NULL FROM sample"
        ).fetchall()
    assert len(rows) == N_SAMPLES
    for name, runs, current, tag, embedded in rows:
        assert runs == 1, f"{name} was analysed {runs} times"
        assert current and tag and embedded, name
    listing = requests.get(f"{url}/tags/Kit", headers=headers, timeout=60).json()
    assert all(s["tags"] and s["tags"][0][1] == "auto" for s in listing["samples"])
    similar = requests.get(f"{url}/similar/Kit/{listing['samples'][0]['name']}?n=3", headers=headers, timeout=30)
    assert similar.status_code == 200 and len(similar.json()) == 3

    for process in web_processes(stack):
        assert loaded_tensorflow(process) == [], f"web process {process.pid} loaded TensorFlow"
    worker = psutil.Process(stack.workers["w2"].pid)
    assert loaded_tensorflow(worker), "the worker analyses with TensorFlow"
