"""twine, pip, uv, gem and bundler through the nginx front: uploads pass through to the app, public
reads come from disk (nginx's log says it answered them itself, the app's log never sees them),
private packages need credentials, revalidation and bundler's Range work as against the app."""

from __future__ import annotations

import httpx
import pytest

from tests.pypi.pypi_clients import Venv, api, twine_upload
from tests.pypi.pypi_dists import build_sdist, build_wheel
from tests.rubygems.conftest import PUSH_SCOPES, require_ruby
from tests.rubygems.gemtools import GemSource, RubyEnv, build_gem, module_name

PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"


def json_page(url: str, project: str) -> dict:
    response = httpx.get(f"{url}/pypi/simple/{project}/", headers={"Accept": PIP_ACCEPT})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def pypi_published(front, tmp_path_factory):
    """fr-base 1.0 and fr-app 1.0 (needing fr-base), uploaded with twine through nginx."""
    out = tmp_path_factory.mktemp("dists")
    token = front.app.mint_token("pypi:package:*:write", "pypi:package:*:yank", user="alice")
    files = [build_wheel(out, "fr-base", "1.0"), build_sdist(out, "fr-base", "1.0"),
             build_wheel(out, "fr-app", "1.0", requires_dist=("fr-base>=1.0",))]
    result = twine_upload(front.url, files, tmp_path_factory.mktemp("twine-home"), "__token__", token)
    assert result.returncode == 0, result.stdout + result.stderr
    assert front.nginx.answered_itself("POST", "/pypi/legacy/") == [False] * 3
    return {"token": token, "out": out}


def test_pip_installs_through_nginx_from_disk(front, pypi_published, tmp_path) -> None:
    venv = Venv(tmp_path / "venv", tmp_path / "home")
    mark = front.app_log_mark()
    result = venv.pip_install(f"{front.url}/pypi/simple/", "fr-app")
    assert result.returncode == 0, result.stdout + result.stderr
    assert venv.installed_version("fr_app") == "1.0" and venv.installed_version("fr_base") == "1.0"
    for path in ("/pypi/simple/fr-app/", "/pypi/simple/fr-base/", "/pypi/files/fr-app/fr_app-1.0-py3-none-any.whl",
                 "/pypi/files/fr-base/fr_base-1.0-py3-none-any.whl"):
        assert all(front.nginx.answered_itself("GET", path)), path
        assert not front.app_saw("GET", path, since=mark), path


def test_uv_installs_through_nginx_from_disk(front, pypi_published, tmp_path) -> None:
    venv = Venv(tmp_path / "venv", tmp_path / "home")
    mark = front.app_log_mark()
    result = venv.uv_install(f"{front.url}/pypi/simple/", "fr-app")
    assert result.returncode == 0, result.stdout + result.stderr
    assert venv.installed_version("fr_app") == "1.0"
    # uv's Accept header is negotiated by nginx (JSON), and it reads the PEP 658 sidecar from disk
    for path in ("/pypi/simple/fr-app/", "/pypi/files/fr-app/fr_app-1.0-py3-none-any.whl.metadata"):
        assert front.nginx.answered_itself("GET", path) and all(front.nginx.answered_itself("GET", path)), path
        assert not front.app_saw("GET", path, since=mark), path


def test_an_upload_or_yank_through_nginx_is_on_the_next_read(front, pypi_published, tmp_path) -> None:
    token = pypi_published["token"]
    wheel = build_wheel(pypi_published["out"], "fr-base", "1.1")
    result = twine_upload(front.url, [wheel], tmp_path / "home", "__token__", token)
    assert result.returncode == 0, result.stdout + result.stderr
    page = json_page(front.url, "fr-base")
    assert "1.1" in page["versions"]
    assert front.nginx.answered_itself("GET", "/pypi/simple/fr-base/")[-1]

    response = api(front.url, token, "POST", "/packages/pypi/fr-base/versions/1.1/yank", json={"reason": "bad"})
    assert response.status_code == 200, response.text
    files = {f["filename"]: f for f in json_page(front.url, "fr-base")["files"]}
    assert files["fr_base-1.1-py3-none-any.whl"]["yanked"] == "bad"
    assert front.nginx.answered_itself("GET", "/pypi/simple/fr-base/")[-1]


def test_a_private_project_needs_credentials_through_nginx(front, pypi_published, tmp_path) -> None:
    token = pypi_published["token"]
    wheel = build_wheel(pypi_published["out"], "fr-secret", "1.0")
    assert twine_upload(front.url, [wheel], tmp_path / "home", "__token__", token).returncode == 0
    admin = front.app.mint_token("admin", user="root")
    response = api(front.url, admin, "PATCH", "/packages/pypi/fr-secret", json={"visibility": "private"})
    assert response.status_code == 200, response.text
    public = front.app.data_dir / "public" / "pypi"
    assert not [p for p in public.rglob("*") if "fr-secret" in str(p) and not p.is_dir()]  # never where nginx serves

    for path in ("/pypi/simple/fr-secret/", "/pypi/files/fr-secret/fr_secret-1.0-py3-none-any.whl"):
        anonymous = httpx.get(front.url + path, headers={"Accept": PIP_ACCEPT})
        assert anonymous.status_code == 401, path
        assert anonymous.headers["www-authenticate"] == 'Basic realm="packyard"'
        assert front.nginx.answered_itself("GET", path)[-1] is False
    assert "fr-secret" not in httpx.get(front.url + "/pypi/simple/", headers={"Accept": PIP_ACCEPT}).text

    reader = front.app.mint_token("pypi:package:fr-secret:read", user="reader")
    host = front.url.split("://", 1)[1]
    venv = Venv(tmp_path / "venv", tmp_path / "home")
    result = venv.pip_install(f"http://__token__:{reader}@{host}/pypi/simple/", "fr-secret")
    assert result.returncode == 0, result.stdout + result.stderr
    assert venv.installed_version("fr_secret") == "1.0"


def test_revalidation_through_nginx_answers_304_from_disk(front, pypi_published) -> None:
    first = httpx.get(front.url + "/pypi/simple/fr-app/", headers={"Accept": PIP_ACCEPT})
    again = httpx.get(front.url + "/pypi/simple/fr-app/",
                      headers={"Accept": PIP_ACCEPT, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == first.headers["etag"]
    assert front.nginx.answered_itself("GET", "/pypi/simple/fr-app/")[-1]


@pytest.fixture(scope="module")
def gem_env(tmp_path_factory) -> RubyEnv:
    require_ruby()
    return RubyEnv(tmp_path_factory.mktemp("ruby"))


def gem_push(env: RubyEnv, url: str, path, key: str):
    return env.run(["gem", "push", str(path), "--host", f"{url}/rubygems"], check=False, timeout=60,
                   GEM_HOST_API_KEY=key)


def test_gem_push_install_and_bundler_range_through_nginx(front, gem_env, tmp_path) -> None:
    token = front.app.mint_token(*PUSH_SCOPES, user="rubyist")
    build = tmp_path / "build"
    build.mkdir()
    for src in (GemSource("fr-dep", "1.0.0"), GemSource("fr-gem", "1.0.0", runtime=[("fr-dep", ["~> 1.0"])])):
        pushed = gem_push(gem_env, front.url, build_gem(src, build, gem_env.env()), token)
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert front.nginx.answered_itself("POST", "/rubygems/api/v1/gems") == [False, False]

    installed = gem_env.run(["gem", "install", "fr-gem", "--clear-sources", "--source", f"{front.url}/rubygems/",
                             "--no-document"])
    assert "Successfully installed fr-gem-1.0.0" in installed.stdout, installed.stdout
    assert all(front.nginx.answered_itself("GET", "/rubygems/gems/fr-gem-1.0.0.gem"))

    project = tmp_path / "project"
    project.mkdir()
    (project / "Gemfile").write_text(f'source "{front.url}/rubygems/"\ngem "fr-gem"\n')
    mark = front.app_log_mark()
    gem_env.run(["bundle", "install"], cwd=project)
    assert "fr-gem (1.0.0)" in (project / "Gemfile.lock").read_text()
    for path in ("/rubygems/versions", "/rubygems/info/fr-gem", "/rubygems/info/fr-dep"):
        assert all(front.nginx.answered_itself("GET", path)), path
        assert not front.app_saw("GET", path, since=mark), path

    # a new version pushed through nginx is on bundler's next read: the tail of /versions by Range (206)
    newer = build_gem(GemSource("fr-gem", "1.1.0", runtime=[("fr-dep", ["~> 1.0"])]), build, gem_env.env())
    assert gem_push(gem_env, front.url, newer, token).returncode == 0
    update = gem_env.run(["bundle", "update", "fr-gem", "--verbose"], cwd=project)
    assert "fr-gem (1.1.0)" in (project / "Gemfile.lock").read_text()
    assert f"HTTP 206 Partial Content {front.url}/rubygems/versions" in update.stdout, update.stdout[-3000:]
    assert any(line.startswith("GET /rubygems/versions ") and " 206 upstream=-" in line
               for line in front.nginx.log_lines())
    check = gem_env.run(["bundle", "exec", "ruby", "-e", f'require "fr-gem"; puts {module_name("fr-gem")}::VERSION'],
                        cwd=project)
    assert check.stdout.strip() == "1.1.0"
    # nothing changed since: bundler revalidates /versions with If-None-Match; nginx answers 304 itself
    gem_env.run(["bundle", "update", "fr-gem"], cwd=project)
    assert front.nginx.log_lines()[-1] == "GET /rubygems/versions 304 upstream=-"

    # a yank through nginx is on the next read through nginx, and the yanked file is gone from disk
    yanked = gem_env.run(["gem", "yank", "fr-gem", "-v", "1.1.0", "--host", f"{front.url}/rubygems"],
                         GEM_HOST_API_KEY=token)
    assert "Successfully deleted gem: fr-gem (1.1.0)" in yanked.stdout, yanked.stdout
    info = httpx.get(f"{front.url}/rubygems/info/fr-gem")
    assert info.status_code == 200 and b"1.1.0" not in info.content and b"1.0.0" in info.content
    assert front.nginx.answered_itself("GET", "/rubygems/info/fr-gem")[-1]
    assert httpx.get(f"{front.url}/rubygems/gems/fr-gem-1.1.0.gem").status_code == 404
    assert front.nginx.answered_itself("GET", "/rubygems/gems/fr-gem-1.1.0.gem")[-1] is False


def test_a_private_gem_needs_credentials_through_nginx(front, gem_env, tmp_path) -> None:
    token = front.app.mint_token(*PUSH_SCOPES, user="secretive")
    build = tmp_path / "build"
    build.mkdir()
    assert gem_push(gem_env, front.url, build_gem(GemSource("fr-secret", "1.0.0"), build, gem_env.env()),
                    token).returncode == 0
    admin = front.app.mint_token("admin", user="root")
    response = api(front.url, admin, "PATCH", "/packages/rubygems/fr-secret", json={"visibility": "private"})
    assert response.status_code == 200, response.text
    for path in ("/rubygems/info/fr-secret", "/rubygems/gems/fr-secret-1.0.0.gem"):
        anonymous = httpx.get(front.url + path)
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == 'Basic realm="packyard"'
        assert front.nginx.answered_itself("GET", path)[-1] is False
    assert b"fr-secret" not in httpx.get(front.url + "/rubygems/versions").content

    reader = front.app.mint_token("rubygems:gem:fr-secret:read", user="ci-reader")
    project = tmp_path / "project"
    project.mkdir()
    (project / "Gemfile").write_text(f'source "{front.url}/rubygems/"\ngem "fr-secret"\n')
    gem_env.run(["bundle", "config", "set", "--global", f"{front.url}/rubygems/", f"__token__:{reader}"], cwd=project)
    gem_env.run(["bundle", "install"], cwd=project)
    assert "fr-secret (1.0.0)" in (project / "Gemfile.lock").read_text()
