"""A report built by a real RQ worker process (charts through kaleido in RQ's work horse)."""

from __future__ import annotations

import subprocess

import pytest

from surveys.jobs.models import JobState
from tests.conftest import csrf_token_from
from tests.dashboard.builders import seed_dashboard
from tests.jobs.helpers import wait_for_job
from tests.jobs.test_processes import queue, rq_app, start_worker  # noqa: F401  (fixtures)
from tests.world import logged_in_client

pytestmark = pytest.mark.postgres_only(
    "RQ workers are deployed with PostgreSQL (docs/deploy.md); tests/reports/test_pages.py "
    "builds, follows and downloads reports on SQLite too"
)


def test_a_committee_pdf_is_built_on_an_rq_worker(
    rq_app,  # noqa: F811
    start_worker,  # noqa: F811
    database_url,
    db,
    tmp_path,
):
    world = seed_dashboard(db)
    worker = start_worker()
    client = logged_in_client(rq_app, world.expert)
    token = csrf_token_from(client.get("/reports").get_data(as_text=True))
    response = client.post(
        "/reports",
        data={
            "csrf_token": token,
            "institution": "TDTU",
            "year": "2025",
            "programme": "",
            "format": "pdf",
            "lang": "en",
        },
    )
    assert response.status_code == 303
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    job = wait_for_job(database_url, job_id, timeout=300)
    assert job.state == JobState.SUCCEEDED, (job.error, worker.output()[-3000:])
    assert job.worker.startswith("rq:")
    download = client.get(f"/jobs/{job_id}/file")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")
    path = tmp_path / "committee.pdf"
    path.write_bytes(download.data)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Mechanical engineering" in text and "Chemical technology" not in text
    assert not [s for s in world.secrets if s in text]
