"""Prometheus metrics on a protected endpoint: requests by route, bookings and refusals by
code, what waits for the jobs and what the jobs did; without the token nothing is there."""

from __future__ import annotations

import redeemer


def test_metrics_need_their_token_and_count_requests_bookings_and_refusals(
    world, database_url, committed, tmp_path, monkeypatch
):
    from tests.factories import NOW

    monkeypatch.setenv("YOUCARD_INSTANCE_PATH", str(tmp_path))
    app = redeemer.create_app({"DATABASE_URL": database_url, "TESTING": True,
                               "RATELIMIT_ENABLED": False, "CLOCK": lambda: NOW,
                               "METRICS_TOKEN": "scrape-me-0123456789"})  # fmt: skip
    client = app.test_client()
    assert client.get("/metrics").status_code == 404
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 404

    def scrape() -> str:
        answer = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"})
        assert answer.status_code == 200
        return answer.get_data(as_text=True)

    def value(text: str, series: str) -> float:
        for line in text.splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
        return 0.0

    booked = 'youcard_bookings_total{service="redeemer"}'
    refused = 'youcard_problems_total{code="insufficient_budget",service="redeemer"}'
    before = scrape()
    w = world()
    for n, cents in enumerate((1_500, 9_999_999)):
        client.post("/api/v1/bookings", headers={**w.auth, "Idempotency-Key": f"m-{n}"},
                    json={"credential": w.credential, "category": "participation",
                          "amount_cents": cents})  # fmt: skip
    after = scrape()
    assert value(after, booked) == value(before, booked) + 1
    assert value(after, refused) == value(before, refused) + 1
    assert 'route="/api/v1/bookings"' in after and "youcard_request_seconds_bucket" in after
    assert "youcard_instalments_due " in after and "youcard_imports_waiting " in after
    assert w.token not in after and w.credential not in after  # no secrets in the series

    # What the jobs did, on any node: read from job_runs when scraped.
    from youcard.jobs.runner import run_jobs

    runs = 'youcard_job_runs_total{job="sign-in-throttles"}'
    run_jobs(committed, ["sign-in-throttles"], lambda: NOW)
    jobs = scrape()
    assert value(jobs, runs) == value(after, runs) + 1
    assert value(jobs, 'youcard_job_failures_total{job="sign-in-throttles"}') == value(
        after, 'youcard_job_failures_total{job="sign-in-throttles"}')  # fmt: skip
    assert value(jobs, 'youcard_job_last_success_timestamp_seconds{job="sign-in-throttles"}') == (
        NOW.timestamp())  # fmt: skip
    assert 'youcard_job_last_duration_seconds{job="sign-in-throttles"}' in jobs
