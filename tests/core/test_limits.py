"""The core's storage limits and the case-collision rule, through the publishing service, on the
configured backend: every refusal is a 4xx PackyardError and leaves nothing behind."""

from __future__ import annotations

import hashlib

import pytest
from sqlmodel import func, select

from packyard import migrate
from packyard.models import limits
from packyard.config import Settings
from packyard.errors import BadRequest, NameCollision
from packyard.models import Package
from packyard.registry import Registry
from packyard.services.packages import get_package
from tests.core.fake_adapter import FakeAdapter
from tests.core.test_publishing import identity, upload
from tests.support.backends import new_backend


class CaseSensitiveAdapter(FakeAdapter):
    """Names used as given, but two differing only in case collide (the RubyGems rule)."""

    names_differing_in_case_collide = True

    def normalize_name(self, name: str) -> str:
        return name


@pytest.fixture(params=[FakeAdapter, CaseSensitiveAdapter], ids=["normalizing", "case-colliding"])
def registry(request, tmp_path):
    backend = new_backend()
    settings = Settings(data_dir=tmp_path, database_url=backend.database_url, redis_url=backend.redis_url)
    migrate.upgrade(settings.resolved_database_url)
    reg = Registry(settings, adapters={"fake": request.param()})
    yield reg
    reg.close()
    backend.drop()


def _packages(registry) -> int:
    with registry.db.read() as session:
        return session.exec(select(func.count()).select_from(Package)).one()


@pytest.mark.parametrize("field,value,message", [
    ("name", "n" * (limits.DEFAULT_MAX_NAME_LENGTH + 1), "the limit is 100"),
    ("name", "a\x00b", "contains a NUL byte"),
    ("name", "a\ud800b", "lone surrogate"),
    ("version", "1." + "0" * limits.DEFAULT_MAX_VERSION_LENGTH, "the limit is 64"),
    ("filename", "f" * 256 + ".tar", "the limit is 255"),
    ("platform", "p" * (limits.PLATFORM_LENGTH + 1), "the limit is 100"),
])
def test_values_the_database_cannot_store_are_refused_before_it(registry, field, value, message):
    who = identity(registry, "alice", "admin")
    args = {"name": "thing", "version": "1.0", "filename": "thing-1.0.tar", "platform": None, field: value}
    with pytest.raises(BadRequest, match=message):
        upload(registry, who, args["name"], args["version"], args["filename"], b"bytes", platform=args["platform"])
    assert _packages(registry) == 0
    assert not registry.storage.exists(hashlib.sha256(b"bytes").hexdigest())


def test_lookups_with_a_nul_byte_are_a_400_on_every_backend(registry):
    with registry.db.read() as session, pytest.raises(BadRequest, match="NUL"):
        get_package(session, "fake", "a\x00b")


@pytest.mark.parametrize("registry", [CaseSensitiveAdapter], indirect=True, ids=["case-colliding"])
def test_a_name_differing_only_in_case_collides_where_the_ecosystem_says_so(registry):
    alice = identity(registry, "alice", "fake:thing:*:write")
    bob = identity(registry, "bob", "fake:thing:*:write")
    upload(registry, alice, "Foo_Bar", "1.0", "Foo_Bar-1.0.tar", b"one")
    with pytest.raises(NameCollision) as by_owner:
        upload(registry, alice, "foo_bar", "1.1", "foo_bar-1.1.tar", b"two")
    assert by_owner.value.existing_name == "Foo_Bar" and by_owner.value.caller_owns_it
    assert by_owner.value.status_code == 409
    with pytest.raises(NameCollision) as by_stranger:
        upload(registry, bob, "FOO_BAR", "1.0", "FOO_BAR-1.0.tar", b"three")
    assert not by_stranger.value.caller_owns_it
    assert _packages(registry) == 1
    upload(registry, alice, "Foo_Bar", "1.1", "Foo_Bar-1.1.tar", b"two")  # the existing spelling still works
