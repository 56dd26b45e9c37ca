"""The JSON access log of a real server: one parsable line per request with its fields, the
X-Request-ID honoured when sane and sent back (only while there is a line to find it in), the user the credentials resolved to, and
never a token or a password, however they were sent."""

from __future__ import annotations

import base64

import httpx

from tests.support.access_log import access_lines, line_for

FIELDS = {"time", "request_id", "method", "path", "status", "duration_ms", "bytes", "user", "ecosystem", "route", "remote",
          "user_agent", "pid"}


def test_one_line_per_request_with_its_fields_and_the_request_id_echoed(server):
    answer = httpx.get(server.url + "/pypi/simple/", headers={"X-Request-ID": "trace-42.a:b"}, timeout=30)
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "trace-42.a:b"
    line = line_for(server, "trace-42.a:b")
    assert FIELDS <= set(line)
    assert (line["method"], line["path"], line["status"], line["route"], line["ecosystem"]) == ("GET", "/pypi/simple/", 200, "/simple/", "pypi")
    assert line["bytes"] == answer.num_bytes_downloaded and line["duration_ms"] >= 0 and line["user"] is None  # as sent (gzip)
    assert line["user_agent"].startswith("python-httpx/") and line["remote"] == "127.0.0.1"
    assert line["time"].endswith("Z")

    head = httpx.head(server.url + "/rubygems/versions", headers={"X-Request-ID": "head-1"}, timeout=30)
    line = line_for(server, "head-1")
    assert (line["method"], line["status"], line["bytes"], line["route"]) == ("HEAD", head.status_code, 0, "/versions")


def test_an_unusable_request_id_is_replaced_by_a_generated_one(server):
    for bad in ("has spaces", "x" * 129, "semi;colon", "caf\u00e9".encode()):
        answer = httpx.get(server.url + "/healthz", headers={"X-Request-ID": bad}, timeout=30)
        generated = answer.headers["x-request-id"]
        assert generated not in (bad, "caf\u00e9") and 0 < len(generated) <= 128
        assert line_for(server, generated)["path"] == "/healthz"
    first = httpx.get(server.url + "/healthz", timeout=30).headers["x-request-id"]
    second = httpx.get(server.url + "/healthz", timeout=30).headers["x-request-id"]
    assert first != second


def test_the_user_is_logged_and_no_secret_ever_is(server):
    token = server.mint_token("pypi:package:*:read", "admin", user="alice")
    server.cli("user", "create", "bob", "--password", "hunter2-secret-pw")
    basic = base64.b64encode(f"__token__:{token}".encode()).decode()
    password = base64.b64encode(b"bob:hunter2-secret-pw").decode()
    sent = {
        "bearer": httpx.get(server.url + "/api/v1/packages", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "bearer"}),
        "basic": httpx.get(server.url + "/pypi/simple/", headers={"Authorization": f"Basic {basic}", "X-Request-ID": "basic"}),
        "password": httpx.get(server.url + "/api/v1/tokens", headers={"Authorization": f"Basic {password}", "X-Request-ID": "password"}),
        "wrong": httpx.get(server.url + "/api/v1/packages", headers={"Authorization": "Bearer pky_not-a-real-one", "X-Request-ID": "wrong"}),
        "in-url": httpx.get(server.url + f"/pypi/simple/?token={token}", headers={"X-Request-ID": "in-url", "User-Agent": f"ua {token}"}),
    }
    assert [sent[k].status_code for k in ("bearer", "password", "wrong")] == [200, 200, 401]
    assert line_for(server, "bearer")["user"] == "alice"
    assert line_for(server, "password")["user"] == "bob"
    assert line_for(server, "wrong")["user"] is None and line_for(server, "wrong")["status"] == 401
    in_url = line_for(server, "in-url")
    assert in_url["query"] == "token=pky_[redacted]" and in_url["user_agent"] == "ua pky_[redacted]"
    # a name that merely starts like a token is left alone
    httpx.get(server.url + "/pypi/simple/pky_app/", headers={"X-Request-ID": "name"})  # a redirect to pky-app
    assert line_for(server, "name")["path"] == "/pypi/simple/pky_app/"
    log = server.log()
    for secret in (token, token.removeprefix("pky_"), basic, password, "hunter2-secret-pw", "not-a-real-one"):
        assert secret not in log


def test_the_access_log_can_be_off(server_factory):
    quiet = server_factory(access_log=False)
    answer = httpx.get(quiet.url + "/pypi/simple/", headers={"X-Request-ID": "quiet-1"}, timeout=30)
    assert answer.status_code == 200
    assert "x-request-id" not in answer.headers  # the id is the log line's: no line, no id (metrics are still on)
    assert access_lines(quiet) == []
