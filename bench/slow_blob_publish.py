"""A large upload's blob write must not hold up other publishes of the same ecosystem: the blob is
stored before the write transaction, outside the ecosystem's write lock.

    python bench/slow_blob_publish.py [--megabytes 1024] [--workers 1]

Runs a server on S3-compatible storage (moto's server, its own process on 127.0.0.1), measures the
latency of small publishes of another package when idle, then while a large upload's PUT to the
object store is in progress.

Target (bench/README.md): a 1 GiB upload to S3-compatible storage in progress does not delay a
small publish of another package in the same ecosystem by more than 50 ms (median and p90 of the
small publishes during the PUT, against the idle ones).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import httpx

from _harness import start, tempdir
from upload_memory import big_wheel

from tests.pypi.pypi_dists import build_wheel
from tests.support.object_store import CREDENTIALS
from tests.support.server import free_port


def upload(server, token: str, wheel: Path, name: str, version: str) -> httpx.Response:
    digest = hashlib.sha256()
    with open(wheel, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    with open(wheel, "rb") as handle:
        return httpx.post(
            server.url + "/pypi/legacy/", auth=("__token__", token), timeout=3600,
            data={":action": "file_upload", "protocol_version": "1", "name": name, "version": version,
                  "filetype": "bdist_wheel", "pyversion": "py3", "metadata_version": "2.1",
                  "sha256_digest": digest.hexdigest()},
            files={"content": (wheel.name, handle, "application/octet-stream")},
        )


def start_object_store(workdir: Path) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    env = {**CREDENTIALS, "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                               stdout=open(workdir / "moto.log", "wb"), stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(endpoint, timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="packyard-test",
                          aws_secret_access_key="packyard-test")
    client.create_bucket(Bucket="bench")
    return process, endpoint, "bench"


def small_publish_ms(server, token: str, wheels: Path, counter: list[int]) -> float:
    counter[0] += 1
    version = f"1.{counter[0]}"
    wheel = build_wheel(wheels, "small-pkg", version)
    started = time.perf_counter()
    response = upload(server, token, wheel, "small-pkg", version)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    workdir = tempdir()
    store, endpoint, bucket = start_object_store(workdir)
    server = start(workdir, workers=args.workers, extra_env={
        **CREDENTIALS,
        "PACKYARD_STORAGE_URL": f"s3://{bucket}/blobs?endpoint_url={endpoint}&region=us-east-1",
        "PACKYARD_MAX_UPLOAD_BYTES": str(2 * 1024**3),
    })
    try:
        token = server.mint_token("pypi:package:*:write", user="bench")
        wheels = workdir / "wheels"
        wheels.mkdir()
        counter = [0]
        for _ in range(5):  # warm up
            small_publish_ms(server, token, wheels, counter)
        idle = [small_publish_ms(server, token, wheels, counter) for _ in range(30)]

        big = big_wheel(workdir, args.megabytes)
        result: dict = {}
        started = time.monotonic()
        thread = threading.Thread(target=lambda: result.update(response=upload(server, token, big, "big-upload", "1.0")))
        thread.start()
        staged_at = _wait_until_staged(server.data_dir / "incoming", big.stat().st_size, thread)
        during = []
        while thread.is_alive():
            during.append(small_publish_ms(server, token, wheels, counter))
        thread.join()
        finished_at = time.monotonic() - started
        result["response"].raise_for_status()

        print(f"big upload                   {big.stat().st_size / 2**20:8.0f} MiB, "
              f"received in {staged_at:.1f} s, stored and published at {finished_at:.1f} s")
        _report("small publish, idle", idle)
        _report("small publish, during PUT", during)
        if during:
            for label, pick in (("median", statistics.median), ("p90", _p90)):
                print(f"delay ({label})               {pick(during) - pick(idle):+8.1f} ms  (target <= 50 ms)")
    finally:
        server.stop()
        server.backend.drop()
        store.terminate()
        store.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_until_staged(incoming: Path, size: int, thread: threading.Thread) -> float:
    """Seconds until the upload's `.part` file is complete: from then on the server inspects it and PUTs it."""
    started = time.monotonic()
    while thread.is_alive():
        parts = list(incoming.glob("*.part"))
        if any(p.stat().st_size >= size - 4096 for p in parts if p.exists()):
            return time.monotonic() - started
        time.sleep(0.05)
    return time.monotonic() - started


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else values[0]


def _report(label: str, values: list[float]) -> None:
    if not values:
        print(f"{label:28s} (none: the upload finished first)")
        return
    print(f"{label:28s} n={len(values):3d}  median {statistics.median(values):7.1f} ms  p90 {_p90(values):7.1f} ms  "
          f"max {max(values):7.1f} ms")


if __name__ == "__main__":
    main()
