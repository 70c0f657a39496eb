"""Rate limits as HubSpot's clients meet them, against a server allowing 5 requests per 10 s.

The SDK's documented recipe is a urllib3 Retry on 429 that honours `Retry-After` (seconds);
even without it, urllib3's default Retry(3) honours Retry-After for idempotent methods. Plain
`requests` users read the 429 body (`policyName`) and the X-HubSpot-RateLimit-* headers.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.imports import ApiException
from urllib3.util.retry import Retry

from support import contacts_request, is_uuid

MAX_PER_10S = 5
DAILY = 100000
RATE_HEADERS = [
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
]


def _drain(
    base_url: str, token: str, limit: int = 3 * MAX_PER_10S, wait_for_full_bucket: bool = True
) -> list[requests.Response]:
    """Quick GETs until the first 429 (at most `limit`), starting from a full bucket: if the
    first answer shows an earlier test's traffic (the limit may be shared), wait out the window."""
    for _attempt in range(2):
        seen = []
        with requests.Session() as s:
            s.headers["Authorization"] = f"Bearer {token}"
            for _ in range(limit):
                r = s.get(f"{base_url}/crm/v3/imports", timeout=10)
                seen.append(r)
                if r.status_code == 429:
                    break
        first_remaining = seen[0].headers.get("X-HubSpot-RateLimit-Remaining")
        if not wait_for_full_bucket or (
            seen[0].status_code == 200 and first_remaining == str(MAX_PER_10S - 1)
        ):
            break
        time.sleep(10.5)
    return seen


def test_sdk_with_retry_rides_through_429(hubport_limited, tmp_path):
    """15 quick calls, every fifth a multipart POST, through a 5-per-10 s limit: all succeed,
    and a POST refused with 429 and then retried creates its import exactly once."""
    client = HubSpot(
        access_token=hubport_limited.token(1),
        host=hubport_limited.base_url,
        retry=Retry(
            total=8,
            status_forcelist=(429,),
            backoff_factor=0.2,
            respect_retry_after_header=True,
            allowed_methods=None,
        ),
    )
    csv = tmp_path / "retry.csv"
    csv.write_text("Email\nretry@limit.example\n")
    req = json.dumps(contacts_request("retry.csv", [("Email", "email")]))
    created = []
    started = time.monotonic()
    for i in range(15):
        if i % 5 == 4:
            imp = client.crm.imports.core_api.create(files=str(csv), import_request=req)
            assert imp is not None and imp.id, (i, imp)
            created.append(imp.id)
        else:
            page = client.crm.imports.core_api.get_page(limit=100)
            assert page is not None and page.results is not None, (i, page)
    elapsed = time.monotonic() - started
    # 15 calls through a 5-per-10 s bucket cannot all be served at once: the 429s were retried.
    assert elapsed > 10, f"15 calls took {elapsed:.1f}s: was the limit enforced at all?"
    assert elapsed < 60, f"15 calls took {elapsed:.1f}s: Retry-After too long?"
    listed = client.crm.imports.core_api.get_page(limit=100).results
    assert sorted(i.id for i in listed) == sorted(created), "a refused POST must not create an import"


def test_sdk_defaults_retry_gets_but_not_posts(hubport_limited, tmp_path):
    """Without `retry=`, urllib3's default Retry(3) still honours Retry-After on a 429 for
    idempotent methods, so GETs ride through; a POST is not retried and raises ApiException."""
    token = hubport_limited.token(2)
    client = HubSpot(access_token=token, host=hubport_limited.base_url)
    for i in range(2 * MAX_PER_10S):
        page = client.crm.imports.core_api.get_page()
        assert page is not None and page.results == [], (i, page)

    csv = tmp_path / "one.csv"
    csv.write_text("Email\nrate@limit.example\n")
    req = contacts_request("one.csv", [("Email", "email")])
    drained = _drain(hubport_limited.base_url, token, wait_for_full_bucket=False)
    assert drained[-1].status_code == 429
    with pytest.raises(ApiException) as info:
        client.crm.imports.core_api.create(files=str(csv), import_request=json.dumps(req))
    exc = info.value
    assert exc.status == 429
    headers = {k.lower(): v for k, v in exc.headers.items()}
    assert int(headers["retry-after"]) >= 1
    body = json.loads(exc.body)
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["category"] == "RATE_LIMITS"


def test_requests_sees_429_body_and_headers(hubport_limited):
    token = hubport_limited.token(3)
    seen = _drain(hubport_limited.base_url, token)
    statuses = [r.status_code for r in seen]
    assert statuses[-1] == 429, f"no 429 within {len(seen)} quick requests: {statuses}"
    assert 429 not in statuses[:-1]
    assert len(seen) <= MAX_PER_10S + 1, f"{len(seen) - 1} requests passed a limit of {MAX_PER_10S}: {statuses}"

    # Every authenticated answer carries the rate-limit headers, and Remaining counts down.
    remaining = []
    for r in seen:
        for name in RATE_HEADERS:
            assert name in r.headers, (r.status_code, name, dict(r.headers))
        assert r.headers["X-HubSpot-RateLimit-Max"] == str(MAX_PER_10S)
        assert r.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert r.headers["X-HubSpot-RateLimit-Daily"] == str(DAILY)
        assert 0 <= int(r.headers["X-HubSpot-RateLimit-Daily-Remaining"]) < DAILY
        remaining.append(int(r.headers["X-HubSpot-RateLimit-Remaining"]))
    assert remaining[:-1] == sorted(remaining[:-1], reverse=True), remaining
    assert remaining[-1] == 0, remaining

    limited = seen[-1]
    assert limited.headers["Content-Type"].startswith("application/json")
    body = limited.json()
    assert body["status"] == "error"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["category"] == "RATE_LIMITS"
    assert is_uuid(body["correlationId"])
    assert limited.headers["x-hubspot-correlation-id"] == body["correlationId"]
    retry_after = int(limited.headers["Retry-After"])  # whole seconds, as urllib3 reads it
    assert 1 <= retry_after <= 10, retry_after

    # Waiting as told is enough: a slot frees every 2 s.
    time.sleep(retry_after)
    again = requests.get(
        f"{hubport_limited.base_url}/crm/v3/imports",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert again.status_code == 200, again.text
