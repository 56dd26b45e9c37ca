"""Object storage failing for real (moto's S3 server): a store that refuses the write answers 507
with its reason, an unreachable one 503 with Retry-After; no staging file is left, and once the
store is back the next upload succeeds."""

from __future__ import annotations

import httpx

from tests.faults.faultkit import SCOPES
from tests.pypi.pypi_clients import http_upload
from tests.pypi.pypi_dists import build_wheel
from tests.support.object_store import CREDENTIALS, object_store
from tests.support.tcp_proxy import TcpProxy


def test_object_store_refusing_or_unreachable_answers_507_or_503_then_recovers(server_factory, tmp_path):
    with object_store() as store:
        port = int(store.endpoint.rsplit(":", 1)[1])
        with TcpProxy("127.0.0.1", port) as proxy:
            url = store.storage_url("faults").replace(store.endpoint, f"http://127.0.0.1:{proxy.port}")
            server = server_factory(extra_env={**CREDENTIALS, "PACKYARD_STORAGE_URL": url})
            token = server.mint_token(*SCOPES)
            dists = tmp_path / "dists"
            dists.mkdir()
            wheels = {v: build_wheel(dists, "stored", v) for v in ("1.0", "1.1", "1.2")}
            assert http_upload(server.url, token, wheels["1.0"], "stored", "1.0").status_code == 200

            # the store refuses the write (here: its bucket is gone)
            client = store.client()
            for key in store.keys():
                client.delete_object(Bucket=store.bucket, Key=key)
            client.delete_bucket(Bucket=store.bucket)
            refused = http_upload(server.url, token, wheels["1.1"], "stored", "1.1")
            assert refused.status_code == 507, refused.text
            assert "Insufficient storage" in refused.text and "NoSuchBucket" in refused.text
            client.create_bucket(Bucket=store.bucket)

            # the store is unreachable
            proxy.close()
            down = http_upload(server.url, token, wheels["1.1"], "stored", "1.1")
            assert down.status_code == 503 and down.headers["retry-after"].isdigit(), server.log()[-3000:]
            assert "object store is unreachable" in down.text
            assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 503

            proxy.open()
            assert not list((server.data_dir / "incoming").glob("*.part"))
            for version in ("1.1", "1.2"):
                assert http_upload(server.url, token, wheels[version], "stored", version).status_code == 200
            download = httpx.get(f"{server.url}/pypi/files/stored/{wheels['1.2'].name}", timeout=30)
            assert download.content == wheels["1.2"].read_bytes()
            assert "Traceback" not in server.log()
