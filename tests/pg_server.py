"""A throwaway PostgreSQL server for the tests: initdb in a temporary directory, listening on
127.0.0.1 on a free port (and a unix socket in that directory only), trust authentication,
no fsync; stopped (immediate mode) and deleted at the end.

PostgreSQL refuses to run as root, so under root the server runs as `nobody` (setpriv),
in a directory it owns. The binaries are found where Debian installs them
(/usr/lib/postgresql/<version>/bin), else on PATH; .ci/run installs the `postgresql`
package where they are missing.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

UNPRIVILEGED = "nobody"


class ServerError(RuntimeError):
    """Why no server could be started (one line)."""


def find_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise ServerError("no PostgreSQL binaries (initdb): install the `postgresql` package (apt-get install -y postgresql)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self):
        self.bindir = find_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="nasbench-pg-"))
        self.data = self.root / "data"
        self.port = None
        self.user = pwd.getpwnam(UNPRIVILEGED) if os.geteuid() == 0 else None
        if self.user:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        prefix = ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups"] if self.user else []
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": str(self.root)}
        return subprocess.run(prefix + list(argv), capture_output=True, text=True, timeout=timeout, env=env, cwd=self.root)

    def start(self) -> "Server":
        done = self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        if done.returncode:
            raise ServerError(f"initdb failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
        for _ in range(5):  # the free port may be taken between looking and listening
            self.port = _free_port()
            options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -F -c max_connections=200"
            done = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "-o", options, "start", timeout=90)
            if done.returncode == 0:
                return self
        log = (self.root / "server.log").read_text(errors="replace").strip().splitlines()[-1:] if (self.root / "server.log").exists() else []
        raise ServerError(f"pg_ctl start failed: {(done.stderr or done.stdout).strip()} {log}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import sqlalchemy as sa

        engine = sa.create_engine(self.url().replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        if self.data.exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
