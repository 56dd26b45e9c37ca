"""What a small PyPI publish writes besides its own file, as the package grows: document copies
rewritten (each an fsync'ed file, two or three for a public document) and CPU time, per publish.

    python bench/publish_document_writes.py [--versions 40] [--publishes 10]

In this process (the app's own upload handler, no sockets; embedded database, local blobs), so the
counts do not depend on the machine's load: publishes `--versions` versions of one package, then
measures the next `--publishes`. `--rewrite-unchanged` measures the behaviour before the publish
left unchanged documents as stored (every document of the package rewritten). A publish's fsyncs
are what a disk kept busy by a large upload (and the object store receiving it) slows down.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time

from _harness import in_process_client, start, tempdir, upload_wheel

from packyard.documents.store import DocumentStore
from tests.pypi.pypi_dists import build_wheel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=40)
    parser.add_argument("--publishes", type=int, default=10)
    parser.add_argument("--rewrite-unchanged", action="store_true")
    args = parser.parse_args()
    if args.rewrite_unchanged:
        put = DocumentStore.put
        DocumentStore.put = lambda self, *a, unless_same=False, **k: put(self, *a, **k)  # type: ignore[method-assign]
    fsyncs = [0]
    fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        fsyncs[0] += 1
        fsync(fd)

    os.fsync = counting_fsync  # type: ignore[assignment]
    workdir = tempdir()
    server = start(workdir)
    try:
        token = server.mint_token("pypi:package:*:write", user="bench")
        wheels = workdir / "wheels"
        wheels.mkdir()
        counts, cpu = [], []
        with in_process_client(server) as client:
            for i in range(args.versions + args.publishes):
                wheel = build_wheel(wheels, "growing-pkg", f"1.{i}")
                before, started = fsyncs[0], time.process_time()
                upload_wheel("http://127.0.0.1", token, wheel, "growing-pkg", f"1.{i}", client=client)
                if i >= args.versions:
                    counts.append(fsyncs[0] - before)
                    cpu.append((time.process_time() - started) * 1000)
        mode = "every document rewritten" if args.rewrite_unchanged else "unchanged documents left"
        print(f"{mode}: publish of version {args.versions + 1}..{args.versions + args.publishes}: "
              f"fsyncs median {statistics.median(counts):.0f}, CPU median {statistics.median(cpu):.1f} ms")
    finally:
        server.stop()
        server.backend.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
