"""A large upload's blob write must not hold up other publishes of the same ecosystem: the blob is
stored before the write transaction, outside the ecosystem's write lock.

    python bench/slow_blob_publish.py [--megabytes 1024] [--workers 1] [--put-concurrency N]

Runs a server on S3-compatible storage (moto's server, its own process on 127.0.0.1), measures the
latency of small publishes of another package when idle (before the large upload and again after
it: each publish adds a version, so the package grows through the run), then while a large
upload's PUT to the object store is in progress. As controls it measures small gem pushes the same way (another
ecosystem's lock on PostgreSQL; on SQLite every write shares one lock), `GET /healthz` (no lock,
no database), a small PUT straight to the object store (each publish PUTs its blob there too) and
a 4 KiB file fsynced on the server's disk (each publish makes several durable writes):
a delay the PyPI publishes share with them is contention for the CPU and the disk on this machine,
or moto (one Python process) receiving the big PUT, not the write lock. Set PACKYARD_TEST_DATABASE_URL
(and PACKYARD_TEST_REDIS_URL) to run on PostgreSQL, as the tests do.

Target (bench/README.md): a 1 GiB upload to S3-compatible storage in progress does not delay a
small publish of another package in the same ecosystem by more than 50 ms (median and p90 of the
small publishes during the PUT, against the idle ones).
"""

from __future__ import annotations

import argparse
import hashlib
import os
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
from tests.rubygems.gemtools import craft_gem
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


def start_object_store(workdir: Path) -> tuple[subprocess.Popen, str, str, object]:
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
    return process, endpoint, "bench", client


def small_publish_ms(server, token: str, wheels: Path, counter: list[int]) -> float:
    counter[0] += 1
    version = f"1.{counter[0]}"
    wheel = build_wheel(wheels, "small-pkg", version)
    started = time.perf_counter()
    response = upload(server, token, wheel, "small-pkg", version)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


def small_push_ms(server, token: str, counter: list[int]) -> float:
    counter[0] += 1
    gem = craft_gem("small-gem", f"1.{counter[0]}.0")
    started = time.perf_counter()
    response = httpx.post(server.url + "/rubygems/api/v1/gems", content=gem, timeout=3600,
                          headers={"Authorization": token, "Content-Type": "application/octet-stream"})
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


def store_put_ms(store, bucket: str, counter: list[int]) -> float:
    """A small PUT straight to the object store: what the store itself adds to every publish's blob write."""
    counter[0] += 1
    started = time.perf_counter()
    store.put_object(Bucket=bucket, Key=f"control/{counter[0]}", Body=os.urandom(4096))
    return (time.perf_counter() - started) * 1000


def fsync_ms(directory: Path, counter: list[int]) -> float:
    """A 4 KiB file written and fsynced on the server's disk: what the disk itself adds to every
    durable write (a publish makes several) while the big upload's bytes are on their way out."""
    counter[0] += 1
    started = time.perf_counter()
    with open(directory / f"fsync-control-{counter[0]}", "wb") as handle:
        handle.write(os.urandom(4096))
        handle.flush()
        os.fsync(handle.fileno())
    return (time.perf_counter() - started) * 1000


def health_ms(server) -> float:
    started = time.perf_counter()
    httpx.get(server.url + "/healthz", timeout=3600).raise_for_status()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--put-concurrency", type=int, help="the storage URL's put_concurrency (default: the server's)")
    args = parser.parse_args()
    workdir = tempdir()
    store, endpoint, bucket, store_client = start_object_store(workdir)
    server = start(workdir, workers=args.workers, extra_env={
        **CREDENTIALS,
        "PACKYARD_STORAGE_URL": f"s3://{bucket}/blobs?endpoint_url={endpoint}&region=us-east-1"
                                + (f"&put_concurrency={args.put_concurrency}" if args.put_concurrency else ""),
        "PACKYARD_MAX_UPLOAD_BYTES": str(2 * 1024**3),
    })
    try:
        token = server.mint_token("pypi:package:*:write", "rubygems:gem:*:write", user="bench")
        wheels = workdir / "wheels"
        wheels.mkdir()
        counter = [0]
        idle: list[float] = []
        idle_gems: list[float] = []
        idle_health: list[float] = []
        idle_puts: list[float] = []
        idle_syncs: list[float] = []

        def measure_idle(count: int, warm_up: int = 0) -> list[float]:
            """`count` idle rounds of every probe (after `warm_up` unrecorded ones); the publishes' times."""
            times = []
            for attempt in range(warm_up + count):
                pypi, gem, health = small_publish_ms(server, token, wheels, counter), small_push_ms(server, token, counter), health_ms(server)
                put = store_put_ms(store_client, bucket, counter)
                sync = fsync_ms(server.data_dir, counter)
                if attempt >= warm_up:
                    times.append(pypi)
                    idle.append(pypi)
                    idle_gems.append(gem)
                    idle_health.append(health)
                    idle_puts.append(put)
                    idle_syncs.append(sync)
            return times

        idle_before = measure_idle(30, warm_up=5)

        big = big_wheel(workdir, args.megabytes)
        result: dict = {}
        started = time.monotonic()
        thread = threading.Thread(target=lambda: result.update(response=upload(server, token, big, "big-upload", "1.0")))
        thread.start()
        staged_at = _wait_until_staged(server.data_dir / "incoming", big.stat().st_size, thread)
        during: list[float] = []
        during_gems: list[float] = []
        during_health: list[float] = []
        during_puts: list[float] = []
        during_syncs: list[float] = []
        while thread.is_alive():
            during.append(small_publish_ms(server, token, wheels, counter))
            during_gems.append(small_push_ms(server, token, counter))
            during_health.append(health_ms(server))
            during_puts.append(store_put_ms(store_client, bucket, counter))
            during_syncs.append(fsync_ms(server.data_dir, counter))
        thread.join()
        finished_at = time.monotonic() - started
        result["response"].raise_for_status()
        # Each small publish adds a version to the same package, so later ones cost more: idle rounds
        # after the upload as well as before bracket the ones during it, and drift cancels out.
        idle_after = measure_idle(30)

        print(f"big upload                   {big.stat().st_size / 2**20:8.0f} MiB, "
              f"received in {staged_at:.1f} s, stored and published at {finished_at:.1f} s")
        _report("small publish, idle before", idle_before)
        _report("small publish, idle after", idle_after)
        _report("small publish, idle", idle)
        _report("small publish, during PUT", during)
        _report("control: gem push, idle", idle_gems)
        _report("control: gem push, during", during_gems)
        _report("control: /healthz, idle", idle_health)
        _report("control: /healthz, during", during_health)
        _report("control: store PUT, idle", idle_puts)
        _report("control: store PUT, during", during_puts)
        _report("control: 4 KiB fsync, idle", idle_syncs)
        _report("control: 4 KiB fsync, during", during_syncs)
        if during:
            for label, pick in (("median", statistics.median), ("p90", _p90)):
                print(f"delay ({label:6s}) same ecosystem {pick(during) - pick(idle):+8.1f} ms (target <= 50 ms), "
                      f"other ecosystem {pick(during_gems) - pick(idle_gems):+8.1f} ms, "
                      f"/healthz {pick(during_health) - pick(idle_health):+8.1f} ms, "
                      f"direct store PUT {pick(during_puts) - pick(idle_puts):+8.1f} ms, "
                      f"4 KiB fsync {pick(during_syncs) - pick(idle_syncs):+8.1f} ms")
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
