"""Starts real hubport processes for the Python client conformance suite.

One server per session (fresh temporary SQLite database, free port), plus a second one with a
tiny rate limit for the retry tests, started only when a test asks for it. Tokens are minted with
`hubport token create`, exactly as a user would. When a test fails, the tail of each running
server's stderr is attached to the failure report.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
FIXTURES = HERE / "fixtures"

_SERVERS: list["HubportServer"] = []


def hubport_bin() -> Path:
    path = Path(os.environ.get("HUBPORT_BIN") or REPO / "target" / "debug" / "hubport")
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.exit(
            f"hubport binary not found at {path}: build it (cargo build) or set HUBPORT_BIN",
            returncode=3,
        )
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubportServer:
    """A hubport process on 127.0.0.1 with its own temporary database."""

    def __init__(self, name: str, extra_env: dict[str, str] | None = None, args: list[str] | None = None):
        self.name = name
        self.args = list(args or [])
        self.binary = hubport_bin()
        self.dir = Path(tempfile.mkdtemp(prefix=f"hubport-py-{name}-"))
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite://{self.dir}/hubport.db",
            "HUBPORT_JWT_SECRET": "python-client-suite-secret",
            "HUBPORT_LOG_FORMAT": "pretty",
            "RUST_LOG": os.environ.get("HUBPORT_RUST_LOG", "info"),
            "NO_COLOR": "1",
            **(extra_env or {}),
        }
        self.stderr_path = self.dir / "stderr.log"
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.base_url = ""
        self._tokens: dict[tuple, str] = {}

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> "HubportServer":
        # A port picked free can be taken before the server binds it: try a few.
        for _attempt in range(5):
            self.port = _free_port()
            self.base_url = f"http://127.0.0.1:{self.port}"
            with open(self.stderr_path, "ab") as err:
                self.proc = subprocess.Popen(
                    [str(self.binary), "serve", "--bind", f"127.0.0.1:{self.port}", *self.args],
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=err,
                    cwd=self.dir,
                )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    r = requests.get(self.base_url + "/health", timeout=2)
                    if r.status_code == 200:
                        _SERVERS.append(self)
                        return self
                except requests.RequestException:
                    pass
                time.sleep(0.1)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(
                    f"hubport ({self.name}) did not answer /health within {timeout}s\n"
                    + self.stderr_tail()
                )
            if "Address already in use" not in self.stderr_tail():
                break
        raise RuntimeError(
            f"hubport ({self.name}) exited with code {self.proc.returncode} before it was ready\n"
            + self.stderr_tail()
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in _SERVERS:
            _SERVERS.remove(self)
        if os.environ.get("HUBPORT_KEEP_TMP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def stderr_tail(self, lines: int = 50) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return "(no stderr captured)"
        return "\n".join(text.splitlines()[-lines:])

    # -- tokens -----------------------------------------------------------------------------

    def token(self, portal: int = 1, scopes: list[str] | None = None) -> str:
        """A Bearer token from `hubport token create` (cached per portal and scopes)."""
        key = (portal, tuple(scopes or ()))
        if key not in self._tokens:
            cmd = [str(self.binary), "token", "create", "--portal", str(portal)]
            if scopes:
                cmd += ["--scopes", ",".join(scopes)]
            out = subprocess.run(
                cmd,
                env=self.env,
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert out.returncode == 0, f"token create failed: {out.stderr}"
            lines = out.stdout.splitlines()
            assert len(lines) == 1 and lines[0].strip(), (
                f"`hubport token create` must print exactly one token line, got {out.stdout!r}"
            )
            self._tokens[key] = lines[0].strip()
        return self._tokens[key]


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def hubport():
    """The main server. Its burst limit is raised so polling never trips it; the rate-limit
    behaviour itself is tested against `hubport_limited`."""
    server = HubportServer(
        "main",
        {"HUBPORT_RATE_LIMIT_PER_10S": "100000", "HUBPORT_RATE_LIMIT_PER_DAY": "10000000"},
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hubport_limited():
    """A second server allowing 5 requests per rolling 10 s (a slot frees every 2 s)."""
    server = HubportServer(
        "limited",
        {"HUBPORT_RATE_LIMIT_PER_10S": "5", "HUBPORT_RATE_LIMIT_PER_DAY": "100000"},
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hubport_no_worker():
    """`hubport serve --no-worker`: imports stay STARTED, so a cancel deterministically meets a
    cancellable import."""
    server = HubportServer(
        "no-worker",
        {"HUBPORT_RATE_LIMIT_PER_10S": "100000", "HUBPORT_RATE_LIMIT_PER_DAY": "10000000"},
        args=["--no-worker"],
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


BIG_ROWS = 200_000


@pytest.fixture(scope="session")
def big_contacts_import(tmp_path_factory):
    """A generated contacts file big enough to still be running when a cancel arrives
    (about 3 s of work for a debug build; a cancel on SQLite may wait for a few batches),
    with its importRequest: (path, request dict, rows)."""
    from support import contacts_request, write_contacts_csv

    path = write_contacts_csv(tmp_path_factory.mktemp("big"), "bulk-cancel.csv", BIG_ROWS, "cancel")
    req = contacts_request(
        path.name, [("Email", "email"), ("First Name", "firstname"), ("Last Name", "lastname")]
    )
    return path, req, BIG_ROWS


# -- failure reports carry the servers' stderr ------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in list(_SERVERS):
            report.sections.append(
                (f"hubport ({server.name}, {server.base_url}) stderr, last lines", server.stderr_tail())
            )


def pytest_report_header(config):
    return [f"hubport binary: {os.environ.get('HUBPORT_BIN') or REPO / 'target/debug/hubport'}",
            f"python: {sys.version.split()[0]}"]
