"""`packyard` command line: serve, tokens, users, migrations, and each adapter's own commands."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import click

from packyard.config import Settings
from packyard.errors import PackyardError
from packyard.plugins import load_adapters


class CliState:
    """Settings from flags and PACKYARD_* variables, and the Registry built from them on first use."""

    def __init__(self, data_dir: Path | None):
        if data_dir is not None:
            os.environ["PACKYARD_DATA_DIR"] = str(data_dir.resolve())  # worker processes read it too
        self.settings = Settings()
        self._registry = None

    def registry(self):
        from packyard.registry import Registry

        if self._registry is None:
            self._registry = Registry(self.settings)
        return self._registry


def _fail(exc: PackyardError) -> None:
    click.echo(f"error: {exc.detail}", err=True)
    sys.exit(1)


data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Data directory for the embedded default (env PACKYARD_DATA_DIR).",
)


@click.group()
@data_dir_option
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None) -> None:
    """packyard: a package registry for Python and Ruby."""
    ctx.obj = CliState(data_dir)


def _state(ctx: click.Context, data_dir: Path | None) -> CliState:
    """Subcommands accept --data-dir too (`packyard token create --data-dir X ...`)."""
    if data_dir is not None:
        ctx.obj = CliState(data_dir)
    return ctx.obj


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option(
    "--access-log/--no-access-log", default=None,
    help="One JSON line per request on stdout (env PACKYARD_ACCESS_LOG=json|off; default off). Costs read throughput: docs/observability.md.",
)
@click.option(
    "--graceful-timeout", default=30.0, show_default=True, type=float, envvar="PACKYARD_GRACEFUL_TIMEOUT",
    help="On SIGTERM, stop accepting and let requests in flight finish for at most this many seconds "
    "(env PACKYARD_GRACEFUL_TIMEOUT).",
)
@data_dir_option
@click.pass_context
def serve(
    ctx: click.Context, host: str, port: int, workers: int, access_log: bool | None, graceful_timeout: float, data_dir: Path | None,
    **upstream_flags: str | None,
) -> None:
    """Run the server (migrations are applied first, under a lock when replicas share PostgreSQL)."""
    import uvicorn

    from packyard import migrate
    from packyard.http import protocol, supervisor
    from packyard.storage import open_storage

    upstreams = {name.removesuffix("_upstream"): url for name, url in upstream_flags.items()}
    if access_log is not None:
        os.environ["PACKYARD_ACCESS_LOG"] = "json" if access_log else "off"  # worker processes read it
    state = _state(ctx, data_dir)
    for ecosystem, url in upstreams.items():
        if url:
            os.environ[f"PACKYARD_{ecosystem.upper()}_UPSTREAM"] = url  # worker processes read it too
    settings = state.settings = Settings()
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    # Before any worker starts: uploads cut off by a crash, never visible as blobs.
    open_storage(settings.resolved_storage_url, settings.data_dir.resolve() / "incoming").staging.sweep()
    # Before any worker starts: documents of a new format rendered, copies in step with the database.
    from packyard.documents.sync import prepare
    from packyard.registry import Registry

    registry = Registry(settings)
    try:
        prepare(registry)
    finally:
        registry.close()
    # Fresh at every start: workers leave their metrics there for a scrape to sum (docs/observability.md).
    metrics_dir = Path(tempfile.mkdtemp(prefix="packyard-metrics-")) if settings.metrics else None
    if metrics_dir is not None:
        os.environ["PACKYARD_METRICS_DIR"] = str(metrics_dir)
    try:
        supervisor.run(uvicorn.Config(
            "packyard.app:create_app_from_env", factory=True, host=host, port=port, workers=workers,
            proxy_headers=True, log_level="info", access_log=False, http=protocol.protocol_class(),
            timeout_graceful_shutdown=graceful_timeout,
        ), metrics_dir)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@data_dir_option
@click.pass_context
def db_upgrade(ctx: click.Context, data_dir: Path | None) -> None:
    """Apply every pending migration."""
    from packyard import migrate

    settings = _state(ctx, data_dir).settings
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    click.echo("database is up to date")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--user", "user_name", required=True, help="Owner of the token; created if absent.")
@click.option("--scope", "scopes", multiple=True, required=True, help="e.g. admin, pypi:package:*:write, rubygems:gem:rails:yank")
@click.option("--name", default="cli", show_default=True)
@click.option("--expires-at", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"]), default=None)
@data_dir_option
@click.pass_context
def token_create(ctx: click.Context, user_name: str, scopes: tuple[str, ...], name: str, expires_at: datetime | None, data_dir: Path | None) -> None:
    """Create a token and print its secret alone on stdout."""
    from datetime import timezone

    from packyard.services import tokens

    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=timezone.utc)
    try:
        minted = tokens.mint_for_user_name(_state(ctx, data_dir).registry(), user_name, name, list(scopes), expires_at)
    except PackyardError as exc:
        _fail(exc)
    click.echo(minted.secret)


@token.command("list")
@click.option("--user", "user_name", default=None)
@data_dir_option
@click.pass_context
def token_list(ctx: click.Context, user_name: str | None, data_dir: Path | None) -> None:
    """List tokens (never their secrets); `by=` names the token that minted each one."""
    from packyard.services import tokens

    for tok, owner in tokens.list_tokens(_state(ctx, data_dir).registry(), user_name):
        state = "revoked" if tok.revoked_at else "active"
        expires = tok.expires_at.isoformat() if tok.expires_at else "never"
        minted_by = tok.created_by_id if tok.created_by_id is not None else "-"
        click.echo(f"{tok.id}\t{owner}\t{tok.name}\t{tok.display_prefix}…\t{state}\texpires={expires}\tby={minted_by}\t{' '.join(tok.scopes)}")


@token.command("revoke")
@click.argument("token_id", type=int)
@data_dir_option
@click.pass_context
def token_revoke(ctx: click.Context, token_id: int, data_dir: Path | None) -> None:
    """Revoke a token by id."""
    from packyard.services import tokens

    try:
        tokens.revoke(_state(ctx, data_dir).registry(), token_id)
    except PackyardError as exc:
        _fail(exc)
    click.echo(f"revoked token {token_id}")


class Duration(click.ParamType):
    """`90s`, `30m`, `1h`, `2d` (or `0`)."""

    name = "duration"
    _UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

    def convert(self, value, param, ctx) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", str(value))
        if match is None or (not match.group(2) and match.group(1) != "0"):
            self.fail(f"'{value}' is not a duration: write e.g. 90s, 30m, 1h or 2d", param, ctx)
        return timedelta(**{self._UNITS[match.group(2) or "s"]: int(match.group(1))})

    @staticmethod
    def format(duration: timedelta) -> str:
        seconds = int(duration.total_seconds())
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds and seconds % size == 0:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"


@main.command()
@data_dir_option
@click.pass_context
def check(ctx: click.Context, data_dir: Path | None) -> None:
    """Verify every file's blob (present, size, sha256) and every stored document (against a
    fresh render); print each problem and a summary; exit 1 on any problem."""
    from packyard.services import integrity

    registry = _state(ctx, data_dir).registry()
    blobs, problems = integrity.referenced_blobs(registry)
    files = sum(len(b.files) for b in blobs)
    if sys.stdout.isatty() and blobs:
        with click.progressbar(blobs, label="checking blobs", item_show_func=lambda b: b.sha256[:12] if b else None) as bar:
            problems += [p for b in bar if (p := integrity.check_blob(registry, b))]
    else:
        problems += [p for b in blobs if (p := integrity.check_blob(registry, b))]
    problems += list(integrity.document_problems(registry))
    for problem in problems:
        click.echo(f"problem: {problem}")
    summary = f"checked {len(blobs)} blobs of {files} files and the documents of {', '.join(registry.adapters)}"
    if problems:
        click.echo(f"{summary}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
        sys.exit(1)
    click.echo(f"{summary}: no problems")


@main.command()
@click.option("--grace", type=Duration(), default="1h", show_default=True, help="Never touch a blob younger than this (it may belong to a publish in progress).")
@click.option("--delete", "delete_them", is_flag=True, default=False, help="Remove the orphans (without it, only list them).")
@data_dir_option
@click.pass_context
def gc(ctx: click.Context, grace: timedelta, delete_them: bool, data_dir: Path | None) -> None:
    """List (and with --delete remove) blobs no row refers to: leftovers of a crash between a
    blob write and its commit. One line per orphan: sha256, size, last modified."""
    from packyard.services import blob_gc

    registry = _state(ctx, data_dir).registry()
    found = blob_gc.scan(registry, grace)
    removed = 0
    for blob in found.orphans:
        gone = delete_them and blob_gc.delete_orphan(registry, blob, grace)
        removed += gone
        click.echo(f"{blob.sha256}\t{blob.size}\t{blob.modified.isoformat()}" + ("\tremoved" if gone else ""))
    size = sum(b.size for b in found.orphans)
    summary = f"{len(found.orphans)} unreferenced blob(s) older than {Duration.format(grace)} ({size} bytes); {len(found.young)} younger one(s) kept; {found.referenced} in use"
    if delete_them:
        summary += f"; removed {removed}"
    elif found.orphans:
        summary += "; run with --delete to remove them"
    click.echo(summary, err=True)


@main.group()
def user() -> None:
    """Users."""


@user.command("create")
@click.argument("name")
@click.option("--password", default=None, help="Lets the user sign in where a client asks for a password (gem signin).")
@click.option("--admin", is_flag=True, default=False)
@data_dir_option
@click.pass_context
def user_create(ctx: click.Context, name: str, password: str | None, admin: bool, data_dir: Path | None) -> None:
    """Create a user."""
    from packyard.services import users

    try:
        users.create_user(_state(ctx, data_dir).registry(), name, password, admin)
    except PackyardError as exc:
        _fail(exc)
    click.echo(f"created user {name}")


def _reserved_name_commands(ecosystem: str) -> list[click.Command]:
    """`packyard <ecosystem> reserve|unreserve|reserved`: names that never resolve upstream."""

    @click.command("reserve")
    @click.argument("name")
    @data_dir_option
    @click.pass_context
    def reserve(ctx: click.Context, name: str, data_dir: Path | None) -> None:
        """Reserve NAME: it never resolves upstream, even before its first upload here."""
        from packyard.services import reserved_names

        try:
            row = reserved_names.reserve(_state(ctx, data_dir).registry(), ecosystem, name)
        except PackyardError as exc:
            _fail(exc)
        click.echo(f"reserved {row.name} ({ecosystem})")

    @click.command("unreserve")
    @click.argument("name")
    @data_dir_option
    @click.pass_context
    def unreserve(ctx: click.Context, name: str, data_dir: Path | None) -> None:
        """Release NAME: it may resolve upstream again (unless a package here has it)."""
        from packyard.services import reserved_names

        try:
            reserved_names.unreserve(_state(ctx, data_dir).registry(), ecosystem, name)
        except PackyardError as exc:
            _fail(exc)
        click.echo(f"released {name} ({ecosystem})")

    @click.command("reserved")
    @data_dir_option
    @click.pass_context
    def reserved(ctx: click.Context, data_dir: Path | None) -> None:
        """List the reserved names: name, reserved at, by whom."""
        from packyard.services import reserved_names

        for row in reserved_names.list_reserved(_state(ctx, data_dir).registry(), ecosystem):
            click.echo(f"{row.name}\t{row.reserved_at.isoformat()}\t{row.reserved_by or '-'}")

    return [reserve, unreserve, reserved]


def _add_adapter_commands() -> None:
    """Each adapter's own group (or an empty one) as `packyard <ecosystem>`, with the core's
    reserved-name commands; and `packyard serve --<ecosystem>-upstream URL` per adapter."""
    for ecosystem, adapter in load_adapters().items():
        group = adapter.cli() or click.Group(ecosystem, help=f"{ecosystem} commands.")
        group.name = ecosystem
        for command in _reserved_name_commands(ecosystem):
            group.add_command(command)
        main.add_command(group, ecosystem)
        serve.params.append(click.Option(
            [f"--{ecosystem}-upstream", f"{ecosystem}_upstream"], default=None, metavar="URL",
            help=f"Proxy and cache {ecosystem} packages from this upstream (env PACKYARD_{ecosystem.upper()}_UPSTREAM); off by default.",
        ))


_add_adapter_commands()
