"""Build real `.gem` files with `gem build` and run gem/bundler in an isolated environment.

Every client run gets a private HOME, GEM_HOME and BUNDLE_PATH, no proxy settings and no
rubygems.org source, so a test can only pass by talking to our server on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import tarfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

RUBY_TOOLS = ("ruby", "gem", "bundle")


def ruby_available() -> bool:
    return all(shutil.which(tool) for tool in RUBY_TOOLS)


def _ruby_list(values) -> str:
    return ", ".join(_ruby_str(v) for v in values)


def _ruby_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def module_name(gem_name: str) -> str:
    return "".join(part.capitalize() for part in gem_name.replace("-", "_").split("_"))


@dataclass
class GemSource:
    """What goes into a generated gemspec."""

    name: str
    version: str
    platform: str | None = None
    runtime: list[tuple[str, list[str]]] = field(default_factory=list)
    development: list[tuple[str, list[str]]] = field(default_factory=list)
    required_ruby_version: str | None = None
    summary: str = "A gem built by packyard's tests"
    extra: str = ""  # more gemspec lines, e.g. a note that makes the bytes differ

    @property
    def full_name(self) -> str:
        if self.platform and self.platform != "ruby":
            return f"{self.name}-{self.version}-{self.platform}"
        return f"{self.name}-{self.version}"

    def gemspec(self) -> str:
        lines = [
            "Gem::Specification.new do |s|",
            f"  s.name = {_ruby_str(self.name)}",
            f"  s.version = {_ruby_str(self.version)}",
            f"  s.summary = {_ruby_str(self.summary)}",
            f"  s.description = {_ruby_str(self.summary + ' (description)')}",
            '  s.authors = ["Packyard Tests", "Second Author"]',
            '  s.email = "tests@example.invalid"',
            '  s.homepage = "https://example.invalid/gems"',
            '  s.license = "MIT"',
            '  s.metadata = { "source_code_uri" => "https://example.invalid/src" }',
            f'  s.files = ["lib/{self.name}.rb"]',
        ]
        if self.platform:
            lines.append(f"  s.platform = {_ruby_str(self.platform)}")
        for dep, reqs in self.runtime:
            lines.append(f"  s.add_runtime_dependency {_ruby_str(dep)}, {_ruby_list(reqs)}")
        for dep, reqs in self.development:
            lines.append(f"  s.add_development_dependency {_ruby_str(dep)}, {_ruby_list(reqs)}")
        if self.required_ruby_version:
            lines.append(f"  s.required_ruby_version = {_ruby_str(self.required_ruby_version)}")
        if self.extra:
            lines.append(self.extra)
        lines.append("end")
        return "\n".join(lines) + "\n"

    def library(self) -> str:
        """lib/<name>.rb: tells which version and platform got installed."""
        const = module_name(self.name)
        return textwrap.dedent(f"""\
            module {const}
              VERSION = {_ruby_str(self.version)}
              PLATFORM = {_ruby_str(self.platform or "ruby")}
            end
            """)


def build_gem(src: GemSource, workdir: Path, env: dict[str, str]) -> Path:
    """Run `gem build` on a generated gemspec; returns the path of the .gem."""
    root = workdir / f"build-{src.full_name}-{len(list(workdir.glob('build-*')))}"
    (root / "lib").mkdir(parents=True)
    (root / "lib" / f"{src.name}.rb").write_text(src.library())
    spec = root / f"{src.name}.gemspec"
    spec.write_text(src.gemspec())
    result = subprocess.run(["gem", "build", spec.name], cwd=root, env=env, capture_output=True, text=True,
                            timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"gem build failed for {src.full_name}:\n{result.stdout}\n{result.stderr}")
    built = root / f"{src.full_name}.gem"
    if not built.exists():
        raise RuntimeError(f"gem build did not produce {built.name}: {sorted(p.name for p in root.iterdir())}")
    return built


@dataclass
class RubyEnv:
    """An isolated HOME/GEM_HOME/BUNDLE_PATH for gem and bundler."""

    root: Path

    def __post_init__(self) -> None:
        for sub in ("home", "gem_home", "bundle", "work"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def gem_home(self) -> Path:
        return self.root / "gem_home"

    def env(self, **extra: str) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "TERM")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.setdefault("LANG", "C.UTF-8")
        env.update({
            "HOME": str(self.home),
            "GEM_HOME": str(self.gem_home),
            "GEM_SPEC_CACHE": str(self.root / "spec_cache"),
            "BUNDLE_PATH": str(self.root / "bundle"),
            "BUNDLE_USER_HOME": str(self.home / ".bundle"),
            "BUNDLE_DISABLE_VERSION_CHECK": "true",
            "BUNDLE_SILENCE_ROOT_WARNING": "true",
            "BUNDLE_RETRY": "0",
            "SOURCE_DATE_EPOCH": "1700000000",
            # no proxy variables: everything goes straight to 127.0.0.1
        })
        env.update(extra)
        return env

    def run(self, args: list[str], *, cwd: Path | None = None, timeout: int = 300, check: bool = True,
            **extra: str) -> subprocess.CompletedProcess:
        result = subprocess.run(args, cwd=cwd or self.root / "work", env=self.env(**extra), capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {result.returncode}\n--- stdout\n{result.stdout[-4000:]}"
                                 f"\n--- stderr\n{result.stderr[-4000:]}")
        return result

    def ruby_eval(self, code: str, **extra: str) -> str:
        return self.run(["ruby", "-e", code], **extra).stdout


SPEC_YAML = """\
--- !ruby/object:Gem::Specification
name: {name}
version: !ruby/object:Gem::Version
  version: {version}
platform: ruby
authors:
- Packyard Tests
date: 2024-01-01 00:00:00.000000000 Z
dependencies: []
files:
- lib/{name}.rb
require_paths:
- lib
required_ruby_version: !ruby/object:Gem::Requirement
  requirements:
  - - ">="
    - !ruby/object:Gem::Version
      version: '0'
rubygems_version: 3.3.15
specification_version: 4
summary: {summary}
"""


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def tar_bytes(members: dict[str, bytes]) -> bytes:
    """A ustar archive, the way `gem build` writes one (read-only members)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size, info.mode = len(data), 0o444
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def gem_bytes(spec_yaml: str, files: dict[str, bytes]) -> bytes:
    """A .gem from raw metadata YAML and its files (no checksums.yaml.gz)."""
    return tar_bytes({"metadata.gz": gz(spec_yaml.encode()), "data.tar.gz": gz(tar_bytes(files))})


def craft_gem(name: str, version: str, summary: str = "crafted") -> bytes:
    """A minimal valid .gem made in Python (fast, for tests that need many of them)."""
    spec = SPEC_YAML.format(name=name, version=version, summary=summary)
    return gem_bytes(spec, {f"lib/{name}.rb": f"# {name} {version}\n".encode()})
