"""Real clients against the app and through the nginx front (issue #9): `pip install` of 20
projects and a cold `bundle install` of 10 gems, each timed from a fresh, isolated client.

    python bench/client_installs.py [--projects 1000] [--gems 300] [--runs 3]

The registry holds `--projects` PyPI projects and `--gems` gems (filled over HTTP); pip installs
bench-p-0 ... bench-p-19 into a fresh venv with no cache; bundler resolves and installs
bench0 ... bench9 with an empty HOME, BUNDLE_PATH and compact-index cache. Each run times the app and
the front in turn, the first of the pair alternating from run to run; the medians are reported, and
the median of the runs' app/front ratios. Targets: pip within 1.1x of nginx, bundler within 1.2x.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time

from _harness import (
    discard,
    populate_pypi,
    populate_rubygems,
    start,
    start_front,
    tempdir,
)

from tests.pypi.pypi_clients import Venv, run  # noqa: E402
from tests.rubygems.gemtools import RubyEnv  # noqa: E402


def time_pip(index: str, workdir, n: int) -> float:
    venv = Venv(workdir / f"venv-{n}", workdir / f"home-{n}", own_pip=True)
    command = venv.pip("install", "--no-cache-dir", "--index-url", index, *[f"bench-p-{i}" for i in range(20)])
    started = time.monotonic()
    result = run(command, venv.env)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    shutil.rmtree(venv.path)
    return elapsed


def time_bundle(source: str, workdir, n: int) -> float:
    env = RubyEnv(workdir / f"ruby-{n}")
    project = env.root / "project"
    project.mkdir()
    (project / "Gemfile").write_text(f'source "{source}"\n' + "".join(f'gem "bench{i}"\n' for i in range(10)))
    started = time.monotonic()
    env.run(["bundle", "install"], cwd=project)
    elapsed = time.monotonic() - started
    shutil.rmtree(env.root)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--gems", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workdir = tempdir()
    server = start(workdir, workers=2)
    try:
        populate_pypi(server, args.projects, workdir)
        populate_rubygems(server, args.gems, workdir)
        front = start_front(server, workdir / "nginx-front")
        times: dict[tuple[str, str], list[float]] = {}
        try:
            for n in range(args.runs):
                targets = [("app", server.url), ("nginx front", front.url)]
                for label, url in targets if n % 2 == 0 else reversed(targets):
                    times.setdefault(("pip install (20 projects)", label), []).append(
                        time_pip(f"{url}/pypi/simple/", workdir, n))
                    times.setdefault(("cold bundle install (10 gems)", label), []).append(
                        time_bundle(f"{url}/rubygems/", workdir, n))
                print(f"  run {n + 1}: " + ", ".join(f"{client.split(' (')[0]} {label} {taken[-1]:.2f} s"
                                                     for (client, label), taken in times.items()), flush=True)
        finally:
            front.stop()
    finally:
        discard(server, workdir)
    print(f"\n{'client':32}{'app s':>8}{'front s':>9}{'app/front':>11}   (medians of {args.runs}; the ratio: of each run's pair)")
    for client in ("pip install (20 projects)", "cold bundle install (10 gems)"):
        app, front_s = times[(client, "app")], times[(client, "nginx front")]
        ratio = statistics.median(a / f for a, f in zip(app, front_s))
        print(f"{client:32}{statistics.median(app):>8.2f}{statistics.median(front_s):>9.2f}{ratio:>11.2f}")


if __name__ == "__main__":
    main()
