"""The Jobs pages over HTTP: dataset previews, the self-polling progress fragment, refusals."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from modelport.console.jobs import preview_rows
from tests.console.conftest import csrf_of


def test_preview_shows_the_header_and_the_first_rows_and_drops_a_cut_line() -> None:
    content = b"a,b\n" + b"".join(b"%d,%d\n" % (i, i) for i in range(100))
    rows = preview_rows(content, limit=5)
    assert rows == [["a", "b"], ["0", "0"], ["1", "1"], ["2", "2"], ["3", "3"], ["4", "4"]]
    big = b"a,b\n" + b"1,2\n" * 100_000
    rows = preview_rows(big, limit=100_000)
    assert all(r == ["1", "2"] for r in rows[1:]) and len(rows) < 100_000


async def test_a_training_job_page_polls_until_done(app: FastAPI, signed_in: httpx.AsyncClient) -> None:
    page = await signed_in.get("/ui/jobs")
    assert "builtin:iris" in page.text and "LogisticRegression" in page.text
    started = await signed_in.post("/ui/jobs/train", data={
        "csrf": csrf_of(page.text), "dataset": "builtin:iris", "estimator": "LogisticRegression",
        "name": "ui-trained"})
    assert started.status_code == 303 and started.headers["location"].startswith("/ui/jobs/")
    job_page = await signed_in.get(started.headers["location"])
    assert 'hx-trigger="every 1s"' in job_page.text
    job_id = started.headers["location"].rsplit("/", 1)[1]
    cancel = await signed_in.post(f"/ui/jobs/{job_id}/cancel", data={"csrf": csrf_of(job_page.text)},
                                  follow_redirects=True)
    assert cancel.status_code == 200
    fragment = await signed_in.get(f"/ui/jobs/{job_id}/progress", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    if 'data-state="cancelled"' in fragment.text:
        assert "hx-trigger" not in fragment.text  # a finished job stops polling


async def test_a_refused_training_request_says_why(signed_in: httpx.AsyncClient) -> None:
    page = await signed_in.get("/ui/jobs")
    answer = await signed_in.post("/ui/jobs/train", follow_redirects=True, data={
        "csrf": csrf_of(page.text), "dataset": "builtin:iris", "estimator": "NoSuchEstimator", "name": "x"})
    assert "Training refused" in answer.text and "NoSuchEstimator" in answer.text
