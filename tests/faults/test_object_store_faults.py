"""Object storage failing for real (moto's S3 server): a store that refuses the write answers 507
with its reason, an unreachable one 503 with Retry-After — for uploads and for downloads, whose
answer has not started yet; no staging file is left, and once the store is back the next upload
succeeds."""

from __future__ import annotations

import httpx

from tests.faults.faultkit import SCOPES, gem_push
from tests.pypi.pypi_clients import http_upload
from tests.pypi.pypi_dists import build_wheel
from tests.rubygems.gemtools import craft_gem
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

            # the store refuses the write (here: its bucket is gone)
            client = store.client()
            client.delete_bucket(Bucket=store.bucket)
            refused = http_upload(server.url, token, wheels["1.0"], "stored", "1.0")
            assert refused.status_code == 507, refused.text
            assert "Insufficient storage" in refused.text and "NoSuchBucket" in refused.text
            client.create_bucket(Bucket=store.bucket)

            assert http_upload(server.url, token, wheels["1.0"], "stored", "1.0").status_code == 200
            gem = craft_gem("stored-gem", "1.0.0")
            assert gem_push(server.url, token, gem).status_code == 200
            downloads = {f"/pypi/files/stored/{wheels['1.0'].name}": wheels["1.0"].read_bytes(),
                         "/rubygems/gems/stored-gem-1.0.0.gem": gem}

            # the store is unreachable
            proxy.close()
            down = http_upload(server.url, token, wheels["1.1"], "stored", "1.1")
            assert down.status_code == 503 and down.headers["retry-after"].isdigit(), server.log()[-3000:]
            assert "object store is unreachable" in down.text
            for path in downloads:
                unreadable = httpx.get(server.url + path, timeout=30)
                assert unreadable.status_code == 503 and unreadable.headers["retry-after"].isdigit(), (path, unreadable.text)
                assert "object store is unreachable" in unreadable.text
            assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 503

            proxy.open()
            assert not list((server.data_dir / "incoming").glob("*.part"))
            for version in ("1.1", "1.2"):
                assert http_upload(server.url, token, wheels[version], "stored", version).status_code == 200
            downloads[f"/pypi/files/stored/{wheels['1.2'].name}"] = wheels["1.2"].read_bytes()
            for path, content in downloads.items():
                assert httpx.get(server.url + path, timeout=30).content == content, path
            assert "Traceback" not in server.log()
