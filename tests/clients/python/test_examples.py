"""The shipped examples (examples/curl/*.sh, examples/python/*.py) run as documented."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from support import REPO

EXAMPLES = REPO / "examples"


def _run(cmd, server, portal, timeout=120):
    env = {**os.environ, "HUBPORT_URL": server.base_url, "HUBPORT_TOKEN": server.token(portal)}
    out = subprocess.run(
        cmd, env=env, cwd="/", stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, f"{cmd} exited {out.returncode}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}"
    return out.stdout


needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


@needs_curl
def test_curl_create_poll_errors(hubport):
    created = json.loads(_run(["bash", str(EXAMPLES / "curl/create.sh")], hubport, 21))
    assert created["state"] == "STARTED"
    done = json.loads(_run(["bash", str(EXAMPLES / "curl/poll.sh"), created["id"]], hubport, 21))
    assert done["state"] == "DONE"
    assert done["metadata"]["counters"]["CREATED_OBJECTS"] == 4
    errors = json.loads(_run(["bash", str(EXAMPLES / "curl/errors.sh"), created["id"]], hubport, 21))
    assert [e["errorType"] for e in errors["results"]] == ["INVALID_EMAIL"]


@needs_curl
def test_curl_cancel(hubport_no_worker):
    # No worker runs on this server, so the import is still STARTED when cancel.sh runs.
    created = json.loads(_run(["bash", str(EXAMPLES / "curl/create.sh")], hubport_no_worker, 22))
    action = json.loads(_run(["bash", str(EXAMPLES / "curl/cancel.sh"), created["id"]], hubport_no_worker, 22))
    assert action["status"] == "COMPLETE" and action["completedAt"]
    done = json.loads(_run(["bash", str(EXAMPLES / "curl/poll.sh"), created["id"]], hubport_no_worker, 22))
    assert done["state"] == "CANCELED"


@pytest.mark.parametrize("script,portal", [("import_with_requests.py", 23), ("import_with_sdk.py", 24)])
def test_python_examples(hubport, script, portal):
    out = _run([sys.executable, str(EXAMPLES / "python" / script)], hubport, portal)
    assert re.search(r"^import \d+: DONE$", out, re.M), out
    assert "'TOTAL_ROWS': 5" in out or '"TOTAL_ROWS": 5' in out, out
    assert "INVALID_EMAIL" in out and "not-an-email" in out, out
