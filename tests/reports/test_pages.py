"""The "Yearly report" page: request, progress, download, the kept list, bad input."""

from __future__ import annotations

import csv
import io

from tests.conftest import csrf_token_from
from tests.dashboard.conftest import text_of
from tests.jobs.helpers import wait_for_status


def _post(client, **fields):
    token = csrf_token_from(client.get("/reports").get_data(as_text=True))
    data = {"csrf_token": token, "lang": "en", "programme": "", **fields}
    return client.post("/reports", data=data)


def test_staff_request_a_report_follow_it_download_it_and_a_newer_one_replaces_it(world, client_of):
    client = client_of(world.staff)
    page = client.get("/reports")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/reports"' in html  # the menu's entry
    assert '<option value="2025">2025</option>' in html and ">2024<" in html
    assert "MECH Mechanical engineering" in html and 'value="sav"' in html
    job_urls = []
    for _attempt in range(2):
        response = _post(client, institution="TDTU", year="2025", format="csv")
        assert response.status_code == 303, response.get_data(as_text=True)
        job_urls.append(response.headers["Location"])
        job_id = int(job_urls[-1].rsplit("/", 1)[1])
        status = wait_for_status(client, job_id, timeout=120)
        assert status["state"] == "succeeded", status
        shown = text_of(client.get(f"/jobs/{job_id}").get_data(as_text=True))
        assert "The report is ready" in shown and "hamkor-TDTU-2025-en.csv" in shown
        download = client.get(f"/jobs/{job_id}/file")
        assert download.status_code == 200
        assert download.data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(download.data.decode("utf-8-sig"))))
        assert {r["programme"] for r in rows} == {"*", "MECH", "CHEM", "MINE", "ELEC"}
    listed = text_of(client.get("/reports").get_data(as_text=True))
    # the second build replaced the first: one kept report of this scope and format
    assert listed.count("Yearly report 2025: TDTU (Indicator records (CSV), English)") == 1
    first = int(job_urls[0].rsplit("/", 1)[1])
    assert client.get(f"/jobs/{first}/file").status_code == 404
    # a report in another format is another report: both stay listed
    response = _post(client, institution="TDTU", year="2025", format="xlsx")
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert wait_for_status(client, job_id, timeout=120)["state"] == "succeeded"
    listed = text_of(client.get("/reports").get_data(as_text=True))
    assert "Yearly report 2025: TDTU (Indicator records (CSV), English)" in listed
    assert "Yearly report 2025: TDTU (Excel workbook (XLSX), English)" in listed


def test_charts_that_are_not_drawn_in_time_fail_the_pdf_with_a_clear_message(
    world, client_of, monkeypatch
):
    from surveys.charts.export import ChartTimeout
    from surveys.reports import pdf

    def hung(charts, **options):
        raise ChartTimeout("Chromium did not draw 3 chart(s) within 36 s")

    monkeypatch.setattr(pdf, "charts_svg", hung)
    monkeypatch.setattr(pdf, "start_server", lambda: None)
    client = client_of(world.staff)
    response = _post(client, institution="TDTU", year="2025", format="pdf")
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    status = wait_for_status(client, job_id, timeout=120)
    assert status["state"] == "failed", status
    shown = text_of(client.get(f"/jobs/{job_id}").get_data(as_text=True))
    assert "The charts could not be drawn in time" in shown and "try again" in shown
    assert client.get(f"/jobs/{job_id}/file").status_code == 404  # nothing kept


def test_bad_requests_are_clear_messages_not_errors(world, client_of):
    client = client_of(world.staff)
    for fields, message in (
        ({"year": "2019", "format": "pdf"}, "There is no data for graduation year 2019"),
        ({"year": "2025", "format": "docx"}, "Unknown format 'docx'"),
        ({"year": "2025", "format": "pdf", "institution": "SAMDU"}, "not one you may read"),
        ({"year": "2025", "format": "pdf", "programme": "OTHER"}, "no programme OTHER"),
        ({"year": "x' OR 1=1", "format": "pdf"}, "There is no data for graduation year"),
    ):
        response = _post(client, **{"institution": "TDTU", **fields})
        assert response.status_code == 400, fields
        assert message in text_of(response.get_data(as_text=True)), fields
    assert client.get("/reports?institution=SAMDU").status_code == 403


def test_committee_member_builds_aggregated_reports_of_their_programmes_only(world, client_of):
    client = client_of(world.expert)
    html = client.get("/reports").get_data(as_text=True)
    assert 'value="sav"' not in html  # response-level data is the institution's
    assert "MECH Mechanical engineering" in html and "Chemical technology" not in html
    response = _post(client, institution="TDTU", year="2025", format="sav")
    assert response.status_code == 400
    assert "aggregated reports only" in text_of(response.get_data(as_text=True))
    response = _post(client, institution="TDTU", year="2025", format="xlsx")
    assert response.status_code == 303
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert wait_for_status(client, job_id, timeout=120)["state"] == "succeeded"
    assert client.get(f"/jobs/{job_id}/file").status_code == 200
    # another committee member does not see it
    other = client_of(world.member)
    assert other.get(f"/jobs/{job_id}/file").status_code == 404
