"""The publishing, yanking and ownership services, on the configured backend."""

from __future__ import annotations

import hashlib
import threading

import pytest
from sqlmodel import select

from packyard import migrate
from packyard.auth import Identity, parse_scope
from packyard.config import Settings
from packyard.errors import FileConflict, Forbidden, NotFound
from packyard.models import Artifact, Blob, JournalEntry, User
from packyard.registry import Registry
from packyard.services import ownership, yanking
from packyard.services.publishing import PublishRequest, publish
from packyard.services.users import create_user
from tests.core.fake_adapter import FakeAdapter
from tests.support.backends import new_backend


@pytest.fixture
def registry(tmp_path):
    backend = new_backend()
    settings = Settings(data_dir=tmp_path, database_url=backend.database_url, redis_url=backend.redis_url, storage_url=backend.storage_url)
    migrate.upgrade(settings.resolved_database_url)
    reg = Registry(settings, adapters={"fake": FakeAdapter()})
    yield reg
    reg.close()
    backend.drop()


def identity(registry: Registry, name: str, *scopes: str) -> Identity:
    with registry.db.read() as session:
        user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        user = create_user(registry, name)
    return Identity(user=user, token=None, scopes=[parse_scope(s, registry.scope_rules) for s in scopes])


def upload(registry: Registry, who: Identity, name: str, version: str, filename: str, content: bytes, platform: str | None = None):
    staged = registry.storage.stage_sync([content], max_bytes=None)
    return publish(registry, PublishRequest("fake", name, version, filename, staged, platform=platform), who)


def test_first_upload_claims_the_name_and_others_are_refused(registry):
    alice = identity(registry, "alice", "fake:thing:*:write")
    bob = identity(registry, "bob", "fake:thing:*:write")
    result = upload(registry, alice, "My_Thing", "1.0", "my-thing-1.0.tar", b"one")
    assert result.created and result.package.normalized_name == "my-thing" and result.package.name == "My_Thing"
    with pytest.raises(Forbidden, match="isn't allowed to upload"):
        upload(registry, bob, "my-thing", "2.0", "my-thing-2.0.tar", b"two")
    with pytest.raises(Forbidden, match="isn't allowed to upload"):  # not even a harmless-looking retry
        upload(registry, bob, "my-thing", "1.0", "my-thing-1.0.tar", b"one")
    with registry.db.read() as session:
        assert [a.filename for a in session.exec(select(Artifact))] == ["my-thing-1.0.tar"]
    # bob's refused bytes were not kept
    assert not registry.storage.exists(__import__("hashlib").sha256(b"two").hexdigest())


def test_scope_is_required_for_the_exact_name(registry):
    carol = identity(registry, "carol", "fake:thing:other:write")
    with pytest.raises(Forbidden, match="fake:thing:mine:write"):
        upload(registry, carol, "mine", "1.0", "mine-1.0.tar", b"x")


def test_identical_reupload_is_reported_present_and_other_bytes_conflict(registry):
    alice = identity(registry, "alice", "fake:thing:*:write")
    first = upload(registry, alice, "pkg", "1.0", "pkg-1.0.tar", b"same bytes")
    again = upload(registry, alice, "pkg", "1.0", "pkg-1.0.tar", b"same bytes")
    assert first.created and not again.created and again.artifact.id == first.artifact.id
    with pytest.raises(FileConflict, match="File already exists"):
        upload(registry, alice, "pkg", "1.0", "pkg-1.0.tar", b"different bytes")
    with registry.db.read() as session:
        assert len(session.exec(select(Artifact)).all()) == 1
        assert len(session.exec(select(JournalEntry)).all()) == 1


def test_identical_bytes_share_one_blob_and_files_attach_to_one_version(registry):
    alice = identity(registry, "alice", "fake:thing:*:write")
    a = upload(registry, alice, "pkg", "1.0", "pkg-1.0-a.bin", b"shared")
    b = upload(registry, alice, "pkg", "1.0", "pkg-1.0-b.bin", b"shared")
    assert a.version.id == b.version.id
    with registry.db.read() as session:
        assert len(session.exec(select(Blob)).all()) == 1
    assert registry.storage.exists(a.artifact.blob_sha256)


def test_serials_grow_and_the_adapter_hears_each_change(registry):
    alice = identity(registry, "alice", "fake:thing:*:write", "fake:thing:*:yank")
    first = upload(registry, alice, "pkg", "1.0", "pkg-1.0.tar", b"1")
    second = upload(registry, alice, "pkg", "1.1", "pkg-1.1.tar", b"2")
    yank = yanking.set_yanked(registry, "fake", "pkg", "1.0", True, alice, reason="broken")
    assert first.serial < second.serial < yank.serial
    assert registry.serial("fake") == yank.serial
    assert registry.adapters["fake"].changes == [("publish", "pkg", first.serial), ("publish", "pkg", second.serial), ("yank", "pkg", yank.serial)]


def test_owner_and_settings_changes_are_journaled_changes(registry):
    alice = identity(registry, "alice", "fake:thing:*:write")
    identity(registry, "bob")
    published = upload(registry, alice, "pkg", "1.0", "pkg-1.0.tar", b"1")
    ownership.add_owner(registry, "fake", "pkg", "bob", alice)
    ownership.remove_owner(registry, "fake", "pkg", "bob", alice)
    ownership.update_settings(registry, "fake", "pkg", alice, visibility="private")
    heard = registry.adapters["fake"].changes
    assert [action for action, _, _ in heard] == ["publish", "owners", "owners", "settings"]
    assert [serial for _, _, serial in heard] == sorted({serial for _, _, serial in heard})
    assert registry.serial("fake") == heard[-1][2] > published.serial
    with registry.db.read() as session:
        assert [e.data for e in session.exec(select(JournalEntry).where(JournalEntry.action == "owners").order_by(JournalEntry.id))] == [
            {"added": "bob"}, {"removed": "bob"}]


def test_yank_one_platform_leaves_its_siblings(registry):
    alice = identity(registry, "alice", "fake:thing:*:write", "fake:thing:*:yank")
    upload(registry, alice, "gemlike", "1.0", "gemlike-1.0.gem", b"ruby", platform="ruby")
    upload(registry, alice, "gemlike", "1.0", "gemlike-1.0-x86_64-linux.gem", b"native", platform="x86_64-linux")
    result = yanking.set_yanked(registry, "fake", "gemlike", "1.0", True, alice, platform="x86_64-linux")
    assert [a.filename for a in result.changed] == ["gemlike-1.0-x86_64-linux.gem"]
    with registry.db.read() as session:
        state = {a.filename: a.yanked for a in session.exec(select(Artifact))}
    assert state == {"gemlike-1.0.gem": False, "gemlike-1.0-x86_64-linux.gem": True}
    again = yanking.set_yanked(registry, "fake", "gemlike", "1.0", True, alice, platform="x86_64-linux")
    assert again.changed == [] and again.serial is None
    unyank = yanking.set_yanked(registry, "fake", "gemlike", "1.0", False, alice)
    assert [a.filename for a in unyank.changed] == ["gemlike-1.0-x86_64-linux.gem"]


def test_yank_needs_the_yank_scope_and_ownership(registry):
    alice = identity(registry, "alice", "fake:thing:*:write", "fake:thing:*:yank")
    upload(registry, alice, "pkg", "1.0", "pkg-1.0.tar", b"1")
    writer_only = identity(registry, "alice", "fake:thing:pkg:write")
    with pytest.raises(Forbidden, match="fake:thing:pkg:yank"):
        yanking.set_yanked(registry, "fake", "pkg", "1.0", True, writer_only)
    stranger = identity(registry, "eve", "fake:thing:*:yank")
    with pytest.raises(Forbidden, match="not an owner"):
        yanking.set_yanked(registry, "fake", "pkg", "1.0", True, stranger)
    with pytest.raises(NotFound):
        yanking.set_yanked(registry, "fake", "pkg", "9.9", True, alice)


def test_archived_package_refuses_uploads_and_owners_can_be_added(registry):
    alice = identity(registry, "alice", "fake:thing:*:write")
    upload(registry, alice, "pkg", "1.0", "pkg-1.0.tar", b"1")
    bob = identity(registry, "bob", "fake:thing:*:write")
    ownership.add_owner(registry, "fake", "pkg", "bob", alice)
    assert upload(registry, bob, "pkg", "1.1", "pkg-1.1.tar", b"2").created
    ownership.update_settings(registry, "fake", "pkg", alice, status="archived", status_reason="moved")
    with pytest.raises(Forbidden, match="archived"):
        upload(registry, alice, "pkg", "1.2", "pkg-1.2.tar", b"3")


def test_a_failed_commit_leaves_no_row_and_no_partial_file_and_a_retry_succeeds(registry, monkeypatch):
    alice = identity(registry, "alice", "fake:thing:*:write")

    def explode(session, change):
        raise RuntimeError("adapter failed")

    with monkeypatch.context() as patch:
        patch.setattr(registry.adapters["fake"], "on_change", explode)
        with pytest.raises(RuntimeError):
            upload(registry, alice, "pkg", "1.0", "pkg-1.0.tar", b"doomed")
    assert list(registry.storage.staging.directory.iterdir()) == []
    with registry.db.read() as session:
        assert session.exec(select(Artifact)).all() == [] and session.exec(select(Blob)).all() == []
    # the blob was stored before the transaction; no row refers to it, so gc may collect it later
    retried = upload(registry, alice, "pkg", "1.0", "pkg-1.0.tar", b"doomed")
    assert retried.created and registry.storage.open(retried.artifact.blob_sha256).read() == b"doomed"
    with registry.db.read() as session:
        assert [b.sha256 for b in session.exec(select(Blob))] == [retried.artifact.blob_sha256]


def test_a_slow_blob_write_does_not_hold_the_ecosystem_lock(registry, monkeypatch):
    """The blob is stored before the write transaction: while one upload's blob write hangs, another
    package of the same ecosystem publishes (with the blob write inside the lock it would wait for
    the lock until the database's wait limit and fail)."""
    alice = identity(registry, "alice", "fake:thing:*:write")
    slow_sha = hashlib.sha256(b"big and slow").hexdigest()
    writing, release = threading.Event(), threading.Event()
    keep = registry.storage.keep

    def slow_keep(staged):
        if staged.sha256 == slow_sha:
            writing.set()
            assert release.wait(60)
        return keep(staged)

    monkeypatch.setattr(registry.storage, "keep", slow_keep)
    results: dict = {}
    slow = threading.Thread(target=lambda: results.update(slow=upload(registry, alice, "big", "1.0", "big-1.0.tar", b"big and slow")))
    slow.start()
    try:
        assert writing.wait(30)
        quick = upload(registry, alice, "small", "1.0", "small-1.0.tar", b"small")
        assert quick.created and slow.is_alive()  # published while the other blob is still being written
    finally:
        release.set()
        slow.join(60)
    assert results["slow"].created and results["slow"].serial > quick.serial


def test_a_failed_publish_leaves_its_blob_for_a_publish_of_the_same_bytes(registry, monkeypatch):
    """Replica A's publish fails after storing a blob; replica B (nginx retrying the same file)
    stores the same bytes, finds the blob present and commits. The blob must be there for B: a
    failed publish never deletes what it stored (gc collects it only if no row ever claims it)."""
    alice = identity(registry, "alice", "fake:thing:*:write")
    adapter = registry.adapters["fake"]
    original_on_change = adapter.on_change

    def explode(session, change):
        raise RuntimeError("replica A failed")

    monkeypatch.setattr(adapter, "on_change", explode)
    with pytest.raises(RuntimeError, match="replica A"):
        upload(registry, alice, "pkg", "1.0", "pkg-1.0.tar", b"same bytes")
    monkeypatch.setattr(adapter, "on_change", original_on_change)
    assert upload(registry, alice, "pkg", "1.0", "pkg-1.0.tar", b"same bytes").created
    sha = hashlib.sha256(b"same bytes").hexdigest()
    with registry.storage.open(sha) as handle:
        assert handle.read() == b"same bytes"


def test_a_case_twin_is_never_the_package_of_the_same_name(registry):
    """Two first pushes of one new name at once: the second one's early check, outside the write
    lock, may see the first one's package (PostgreSQL reads each statement afresh); it is no twin."""
    from packyard.models import Package
    from packyard.services.publishing import _case_twin

    with registry.db.write(lock="fake") as session:
        session.add(Package(ecosystem="fake", name="clocked", normalized_name="clocked", created_at=registry.clock.now()))
    with registry.db.read() as session:
        assert _case_twin(session, "fake", "clocked") is None
        twin = _case_twin(session, "fake", "Clocked")
        assert twin is not None and twin.name == "clocked"
