"""Job kinds for the job layer's own tests (``HAMKOR_JOB_MODULES=tests.jobs.kinds``).

``test.work`` does what a real handler does: reads its parameters and input file, writes
rows (institutions named after its parameters), reports progress, and then succeeds, fails
with a message, crashes, or sleeps long enough for a test to kill its worker (with
``paused_attempts``, only its first attempts sleep: the retry after a kill need not wait).
"""

from __future__ import annotations

import os
import time

from flask_babel import gettext as _

from surveys.jobs.kinds import JobContext, JobFailed, job_kind
from surveys.registry.models import Institution


@job_kind(
    "test.work",
    label="Test work",
    describe=lambda params: f"Test work {params['code']}",
)
def work(ctx: JobContext) -> dict:
    params = ctx.params
    steps = int(params.get("steps", 3))
    pause = float(params.get("pause", 0))
    if ctx.attempt > int(params.get("paused_attempts", ctx.attempt)):
        pause = 0  # slowed down only so that a test could kill it: the retry runs at full speed
    for step in range(1, steps + 1):
        if step == steps // 2 + 1:  # half-way, the job writes (on SQLite: the write lock)
            ctx.session.add(Institution(code=params["code"], name=f"Made by job {ctx.job_id}"))
            ctx.session.flush()
        if pause:
            time.sleep(pause)
        ctx.progress(step, steps, _("Step %(n)d", n=step))
    outcome = params.get("outcome", "ok")
    if outcome == "refuse":
        raise JobFailed("The test job was told to refuse.")
    if outcome == "crash":
        raise RuntimeError("secret internal detail 0xDEAD")
    stored = ctx.input_file()
    if params.get("attach"):
        ctx.attach_result_file("report.txt", "text/plain", b"report of " + params["code"].encode())
    return {
        "code": params["code"],
        "input": stored.data.decode() if stored is not None else None,
        "pid": os.getpid(),
        "attempt": ctx.attempt,
    }
