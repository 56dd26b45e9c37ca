"""Gems that must be refused: names differing only in case (rubygems.org's rule and words), platforms
RubyGems does not recognise, files that `gem install` would refuse to unpack, names and fields the
database cannot store. Each refusal leaves nothing stored."""

from __future__ import annotations

import io
import tarfile

import httpx
import pytest

from tests.rubygems.conftest import PUSH_SCOPES, push
from tests.rubygems.gemtools import SPEC_YAML, GemSource, gem_bytes, gz, tar_bytes
from tests.rubygems.test_malformed_push import stored_state


def gem_push(ruby_env, server, path, key):
    return ruby_env.run(["gem", "push", str(path), "--host", f"{server.url}/rubygems"], check=False, timeout=60,
                        GEM_HOST_API_KEY=key)


def test_gem_push_of_a_name_differing_only_in_case_is_refused_as_on_rubygems_org(server, ruby_env, gem_builder):
    owner = server.mint_token(*PUSH_SCOPES, user="case-owner")
    stranger = server.mint_token(*PUSH_SCOPES, user="case-stranger")
    first = gem_push(ruby_env, server, gem_builder(GemSource("foo_bar", "1.0.0")), owner)
    assert "Successfully registered gem: foo_bar (1.0.0)" in first.stdout, first.stdout + first.stderr
    twin = gem_builder(GemSource("Foo_Bar", "1.0.1"))
    before = stored_state(server)

    by_stranger = gem_push(ruby_env, server, twin, stranger)
    assert by_stranger.returncode != 0
    assert ("You do not have permission to push to this gem. Ask an owner to add you with: gem owner foo_bar --add"
            in by_stranger.stdout), by_stranger.stdout + by_stranger.stderr

    by_owner = gem_push(ruby_env, server, twin, owner)
    assert by_owner.returncode != 0
    assert "Unable to change case of gem name with indexed versions" in by_owner.stdout, by_owner.stdout
    assert "Push it as 'foo_bar'" in by_owner.stdout
    assert push(server.url, owner, twin).status_code == 409

    assert stored_state(server) == before
    assert httpx.get(f"{server.url}/rubygems/info/Foo_Bar").status_code == 404
    assert b"1.0.1" not in httpx.get(f"{server.url}/rubygems/info/foo_bar").content
    again = gem_push(ruby_env, server, gem_builder(GemSource("foo_bar", "1.0.1")), owner)
    assert "Successfully registered gem: foo_bar (1.0.1)" in again.stdout  # the existing spelling still works


def _spec(name: str, platform: str = "ruby", version: str = "1.0.0") -> str:
    return SPEC_YAML.format(name=name, version=version, summary="x").replace("platform: ruby", f"platform: {platform}")


def _data_tar_gz(*members: tarfile.TarInfo) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        archive.addfile(tarfile.TarInfo("lib/x.rb"))
        for member in members:
            archive.addfile(member)
    return gz(out.getvalue())


def _member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def _gem_with_files(name: str, *members: tarfile.TarInfo) -> bytes:
    return tar_bytes({"metadata.gz": gz(_spec(name).encode()), "data.tar.gz": _data_tar_gz(*members)})


REFUSED = {
    "platform with an unknown os": (gem_bytes(_spec("plat", "x86_64-foo"), {}), "invalid platform 'x86_64-foo'"),
    "platform that is one word": (gem_bytes(_spec("plat", "amiga"), {}), "invalid platform 'amiga'"),
    "over-long name": (gem_bytes(_spec("a" * 1000), {}), "it is 1000 characters long; the limit is 100"),
    "over-long version": (gem_bytes(_spec("longver", version="1." + "0" * 100), {}), "the limit is 64"),
    "absolute file": (_gem_with_files("absfile", _member("/etc/cron.d/x")), "'/etc/cron.d/x' would be installed outside"),
    "file climbing out": (_gem_with_files("dotdot", _member("lib/../../x")), "'lib/../../x' would be installed outside"),
    "symlink leaving the gem": (
        _gem_with_files("symout", _member("lib/evil", tarfile.SYMTYPE, "../../../etc/passwd")),
        "the symbolic link 'lib/evil' points to '../../../etc/passwd', outside the gem's folder",
    ),
    "lone surrogate in the summary": (
        gem_bytes(SPEC_YAML.format(name="surro", version="1.0.0", summary='"a\\ud800b"'), {}),
        "not valid Unicode",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_gem_is_refused_with_the_reason_and_nothing_is_stored(server, case):
    token = server.mint_token(*PUSH_SCOPES, user="hostile")
    body, reason = REFUSED[case]
    before = stored_state(server)
    response = push(server.url, token, body)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert reason in response.text, response.text
    assert stored_state(server) == before


def test_symlink_within_the_gem_and_recognised_platforms_are_accepted(server):
    token = server.mint_token(*PUSH_SCOPES, user="hostile")
    inside = _gem_with_files("symin", _member("lib/alias.rb", tarfile.SYMTYPE, "x.rb"))
    assert push(server.url, token, inside).status_code == 200
    for platform in ("x86_64-linux", "arm64-darwin", "java", "x64-mingw-ucrt", "x86_64-linux-musl"):
        response = push(server.url, token, gem_bytes(_spec("platgem", platform), {}))
        assert response.status_code == 200, (platform, response.text)


def test_nul_in_a_gem_name_anywhere_is_a_4xx(server):
    token = server.mint_token(*PUSH_SCOPES, user="hostile")
    for path in ("/rubygems/info/a%00b", "/rubygems/api/v1/gems/a%00b.json", "/rubygems/gems/a%00b-1.0.gem",
                 "/rubygems/api/v1/versions/a%00b.json", "/rubygems/api/v1/gems/a%00b/owners.yaml"):
        response = httpx.get(server.url + path, headers={"Authorization": token})
        assert response.status_code == 400, (path, response.status_code, response.text)
    yank = httpx.request("DELETE", f"{server.url}/rubygems/api/v1/gems/yank", data={"gem_name": "a\x00b", "version": "1"},
                         headers={"Authorization": token})
    assert yank.status_code == 400 and "NUL" in yank.text
    owner = httpx.post(f"{server.url}/rubygems/api/v1/gems/foo/owners", data={"email": "a\x00b"},
                       headers={"Authorization": token})
    assert 400 <= owner.status_code < 500, owner.text
