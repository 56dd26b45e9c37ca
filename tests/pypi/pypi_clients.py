"""Drives the real clients (twine, pip, uv) against a test server, fully isolated.

This machine's pip is configured with local wheel directories (user pip.conf,
PIP_FIND_LINKS): every pip/uv run here gets a private HOME, no PIP_*/UV_* environment,
``--isolated``/``UV_NO_CONFIG`` and only our index, so a pass proves our server served it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx

TIMEOUT = 300


def clean_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "TWINE_", "PYTHON", "VIRTUAL_ENV", "PACKYARD_"))
    }
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INPUT="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        UV_NO_CONFIG="1",
        UV_CACHE_DIR=str(home / "uv-cache"),
        UV_PYTHON_DOWNLOADS="never",
        NO_COLOR="1",
    )
    return env


def run(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def twine_upload(server_url: str, files: list[Path], home: Path, username: str | None, password: str | None):
    env = clean_env(home)
    cmd = [shutil.which("twine") or "twine", "upload", "--non-interactive", "--disable-progress-bar"]
    cmd += ["--repository-url", f"{server_url}/pypi/legacy/"]
    if username is not None:
        cmd += ["-u", username]
    if password is not None:
        cmd += ["-p", password]
    return run(cmd + [str(f) for f in files], env)


class Venv:
    """A fresh virtual environment, installed into by the test environment's own pip through
    `--python` (pip >= 22.3), in isolation: a venv without its own pip is made in milliseconds,
    where seeding pip into each one (ensurepip) costs ~4 s of CPU. `own_pip` seeds it anyway
    (bench/client_installs.py times pip alone, without `--python`'s second start)."""

    def __init__(self, path: Path, home: Path, *, own_pip: bool = False) -> None:
        self.path = path
        self.env = clean_env(home)
        result = run([sys.executable, "-m", "venv", *(() if own_pip else ("--without-pip",)), str(path)], self.env)
        assert result.returncode == 0, result.stderr
        self.python = str(path / "bin" / "python")
        self.own_pip = own_pip

    def pip(self, *args: str) -> list[str]:
        """The command line of pip acting on this venv."""
        if self.own_pip:
            return [self.python, "-m", "pip", "--isolated", *args]
        return [sys.executable, "-m", "pip", "--isolated", "--python", self.python, *args]

    def pip_install(self, index_url: str, *requirements: str) -> subprocess.CompletedProcess:
        return run(self.pip("install", "--no-cache-dir", "--index-url", index_url, *requirements), self.env)

    def uv_install(self, index_url: str, *requirements: str) -> subprocess.CompletedProcess:
        return run(
            [shutil.which("uv") or "uv", "pip", "install", "--no-cache", "--python", self.python,
             "--index-url", index_url, *requirements],
            self.env,
        )

    def installed_version(self, module: str) -> str:
        result = run([self.python, "-c", f"import {module}; print({module}.VERSION)"], self.env)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


def upload_form(path: Path, name: str, version: str, **overrides) -> dict[str, str]:
    """The fields twine sends for ``path``; ``overrides`` replace or (value None) remove fields."""
    data = path.read_bytes()
    is_wheel = path.name.endswith(".whl")
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": name,
        "version": version,
        "metadata_version": "2.1",
        "summary": "A test package",
        "filetype": "bdist_wheel" if is_wheel else "sdist",
        "pyversion": "py3" if is_wheel else "source",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
        "blake2_256_digest": hashlib.blake2b(data, digest_size=32).hexdigest(),
    }
    for key, value in overrides.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return fields


def http_upload(
    server_url: str,
    token: str | None,
    path: Path,
    name: str,
    version: str,
    *,
    filename: str | None = None,
    content: bytes | None = None,
    **overrides,
) -> httpx.Response:
    """POST one file the way twine does (form fields first, then ``content``)."""
    auth = ("__token__", token) if token is not None else None
    files = {"content": (filename or path.name, content if content is not None else path.read_bytes(), "application/octet-stream")}
    return httpx.post(
        f"{server_url}/pypi/legacy/", data=upload_form(path, name, version, **overrides), files=files, auth=auth, timeout=60
    )


def api(server_url: str, token: str, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{server_url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30, **kwargs)


class SlowUpload:
    """One upload sent to a server in two halves: the second when the test says (e.g. after a SIGTERM)."""

    def __init__(self, server, token: str, name: str, path: Path):
        boundary = "slowuploadboundary"
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in upload_form(path, name, "1.0").items()
        )
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="{path.name}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n").encode()
        body = head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        self.rest = body[len(body) // 2:]
        auth = httpx.BasicAuth("__token__", token)._auth_header
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        self.sock.sendall(
            (f"POST /pypi/legacy/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n"
             f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            + body[: len(body) // 2]
        )

    def finish(self) -> bytes:
        self.sock.sendall(self.rest)
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            response += chunk
        self.sock.close()
        return response
