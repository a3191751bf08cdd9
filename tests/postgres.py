"""A throwaway PostgreSQL server for the tests and the benchmark.

`TemporaryPostgres` runs Debian's server programs (`pg_config --bindir`) in a private
folder: initdb, then pg_ctl start on a free TCP port on 127.0.0.1 with its unix socket in
that folder, and pg_ctl stop (fast, then immediate) at the end. initdb refuses to run as
root, so as root the server programs run as the `postgres` user (runuser), in a folder
that user owns.

The superuser has a password (scram-sha-256 over TCP) so tests can check that a password
passed through the environment works and appears nowhere; the unix socket trusts the
local superuser, which is how the tests load data with psql.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "postgres"
DATABASE = "warehouse"
START_SECONDS = 60
START_ATTEMPTS = 3


class ServerUnavailable(RuntimeError):
    """No PostgreSQL server programs on this machine (or they cannot be started)."""


def server_bindir() -> Path:
    """The folder with initdb, pg_ctl and psql, or ServerUnavailable saying what is missing."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        found = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if found:
            candidates.append(Path(found))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise ServerUnavailable(
        "PostgreSQL server programs not found (no initdb next to `pg_config --bindir` or in "
        "/usr/lib/postgresql/*/bin). Install them with `apt-get install postgresql`."
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class TemporaryPostgres:
    """A running server: `uri(password=...)` for TCP clients, `psql(...)` for loading."""

    folder: Path
    bindir: Path
    port: int
    password: str
    as_user: list[str]

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def uri(self, password: str | None = None, database: str = DATABASE) -> str:
        """A TCP URL for the superuser; `password` as given (e.g. ``${PGPW}``) or none."""
        credentials = SERVER_USER if password is None else f"{SERVER_USER}:{password}"
        return f"postgresql://{credentials}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = DATABASE) -> str:
        """Run SQL (psql meta-commands such as \\copy too) over the unix socket."""
        done = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
             str(self.folder), "-p", str(self.port), "-U", SERVER_USER, "-d", database,
             "-At", "-c", sql],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def stop(self) -> None:
        """Stop the server (fast, then immediate) and remove its folder."""
        for mode in ("fast", "immediate"):
            done = subprocess.run(
                [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode,
                 "-w", "-t", "30", "stop"],
                capture_output=True, check=False,
            )  # fmt: skip
            if done.returncode == 0 or not (self.data / "postmaster.pid").exists():
                break
        shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres(tag: str = "") -> TemporaryPostgres:
    """initdb + start a server in a new private folder; the caller must `stop()` it.

    `tag` goes into the folder name (a pytest-xdist worker id), so parallel workers never
    share a folder; each also picks its own free port.
    """
    bindir = server_bindir()
    folder = Path(tempfile.mkdtemp(prefix=f"incentcalc-pg-{tag}-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            raise ServerUnavailable("running as root needs `runuser` to start PostgreSQL")
        try:
            owner = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise ServerUnavailable(f"no `{SERVER_USER}` user to run the server as") from None
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", SERVER_USER, "--"]
    password = secrets.token_urlsafe(18)
    server = TemporaryPostgres(folder, bindir, free_port(), password, as_user)
    try:
        _initdb(server)
        for attempt in range(START_ATTEMPTS):
            try:
                _start(server)
                break
            except ServerUnavailable:  # the port was taken in between: try another
                if attempt == START_ATTEMPTS - 1:
                    raise
                server.port = free_port()
        server.psql(f"create database {DATABASE}", database="postgres")
    except BaseException:
        server.stop()
        raise
    return server


def _run_as_server(server: TemporaryPostgres, args: list[str], what: str) -> None:
    done = subprocess.run(
        [*server.as_user, *args], capture_output=True, text=True, check=False,
        cwd=server.folder, timeout=START_SECONDS,
    )  # fmt: skip
    if done.returncode != 0:
        raise ServerUnavailable(f"{what} failed: {done.stdout.strip()} {done.stderr.strip()}")


def _initdb(server: TemporaryPostgres) -> None:
    pwfile = server.folder / "pwfile"
    pwfile.write_text(server.password + "\n", encoding="utf-8")
    if server.as_user:
        owner = pwd.getpwnam(SERVER_USER)
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    pwfile.chmod(0o600)
    try:
        _run_as_server(
            server,
            [str(server.bindir / "initdb"), "-D", str(server.data), "-U", SERVER_USER,
             "--pwfile", str(pwfile), "--auth-local=trust", "--auth-host=scram-sha-256",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            "initdb",
        )  # fmt: skip
    finally:
        with contextlib.suppress(FileNotFoundError):
            pwfile.unlink()


def _start(server: TemporaryPostgres) -> None:
    options = (
        f"-p {server.port} -k {server.folder} -c listen_addresses=127.0.0.1 -c timezone=UTC "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    _run_as_server(
        server,
        [str(server.bindir / "pg_ctl"), "-D", str(server.data), "-o", options, "-l",
         str(server.folder / "server.log"), "-w", "-t", str(START_SECONDS), "start"],
        "pg_ctl start",
    )  # fmt: skip
