"""The management API driven by its own OpenAPI document (schemathesis): requests generated to fit
the schema and requests generated to break it, with an admin token, with a read-only token, with
a malformed one and with none, against a real server. None may answer 5xx."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.pypi.pypi_clients import http_upload
from tests.pypi.pypi_dists import build_wheel

# Positive and negative cases together stay well inside 90 s on a busy machine.
FUZZ_SETTINGS = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_no_generated_request_gets_a_server_error(server, tmp_path):
    admin = server.mint_token("admin", user="root")
    reader = server.mint_token("pypi:package:*:read", user="reader")
    wheel = build_wheel(tmp_path, "fuzz-pkg", "1.0")
    assert http_upload(server.url, admin, wheel, "fuzz-pkg", "1.0").status_code == 200
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    admin_id = next(t["id"] for t in _tokens(server, admin) if t["user"] == "root")

    def keeps_admin(case) -> bool:  # revoking the admin token would leave the rest of the run unauthenticated
        return not (case.method == "DELETE" and case.path_parameters and case.path_parameters.get("token_id") == admin_id)

    # Fixing some path parameters to real values lets the generated rest reach the database.
    anchors = [{}, {"ecosystem": "pypi"}, {"ecosystem": "rubygems"}, {"ecosystem": "pypi", "name": "fuzz-pkg"}]
    cases = st.one_of(
        [schema.as_strategy(mode, path_parameters=anchor or None) for anchor in anchors for mode in GenerationMode]
    ).filter(keeps_admin)
    credentials = st.sampled_from([f"Bearer {admin}"] * 3 + [f"Bearer {reader}", "Bearer pky_not-a-token", "Basic !!", None])
    failures: list[str] = []
    statuses: list[int] = []

    @FUZZ_SETTINGS
    @given(cases, credentials)
    def no_server_error(case, authorization):
        headers = {"Authorization": authorization} if authorization else {}
        response = case.call(base_url=server.url, headers=headers, timeout=30)
        statuses.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r}: {response.status_code}")
        assert response.status_code < 500, response.text

    try:
        no_server_error()
    except AssertionError:
        raise AssertionError("5xx answers:\n" + "\n".join(failures[:5]) + "\n--- server log\n" + server.log()[-4000:]) from None
    # the run reached the routes' logic, not only the validation in front of it
    assert sum(200 <= s < 300 for s in statuses) >= 20 and sum(400 <= s < 500 for s in statuses) >= 20, statuses


def _tokens(server, admin: str) -> list[dict]:
    return httpx.get(f"{server.url}/api/v1/tokens", headers={"Authorization": f"Bearer {admin}"}).json()
