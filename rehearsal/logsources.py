"""Where the receiver's logs live, for ``.github/scripts/fetch-logs.sh``: every source, for real.

Each source is set up as docs/town-setup.md ("Where the logs live") tells a
town to, and gives the repository variables and secrets the workflows read:

- ``git``: a bare repository of logs the receiver host commits and pushes to;
- ``ssh``: Debian's openssh-server on a loopback address, port 22, with a
  throwaway host key (pinned in ``BANDITORE_LOGS_SSH_KNOWN_HOSTS``) and a
  throwaway client key restricted by ``rrsync -ro`` to the logs folder;
- ``s3``: moto's S3 server and the aws CLI (both from PyPI), the receiver
  host copying with ``aws s3 sync`` as the guide says.

``down()`` and ``up()`` make the source unreachable and back (a bad day).
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from .gitside import git
from .receiver import free_port


class Unavailable(Exception):
    """This machine cannot run the source (said loudly by the scenario)."""


class GitSource:
    name = "git"

    def __init__(self, folder: Path, logs: Path):
        self.folder, self.logs = folder, logs
        self.bare = folder / "logs.git"
        self.clone = folder / "receiver-clone"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        git(self.folder, "init", "-q", "--bare", str(self.bare))
        git(self.folder, "clone", "-q", str(self.bare), str(self.clone))

    def publish(self) -> None:
        """The receiver host's timer: commit and push the new lines."""
        for file in self.logs.glob("*.jsonl"):
            shutil.copy2(file, self.clone / file.name)
        git(self.clone, "add", "-A")
        if git(self.clone, "status", "--porcelain").strip():
            git(self.clone, "commit", "-q", "-m", "webhook logs")
            git(self.clone, "push", "-q", "origin", "HEAD:refs/heads/main")

    def variables(self) -> dict[str, str]:
        return {"BANDITORE_LOGS_SOURCE": "git", "BANDITORE_LOGS_GIT_URL": self.bare.as_uri()}

    def secrets(self) -> dict[str, str]:
        return {}

    def down(self) -> None:
        self.bare.rename(self.bare.with_suffix(".down"))

    def up(self) -> None:
        self.bare.with_suffix(".down").rename(self.bare)

    def stop(self) -> None:
        pass


class SshSource:
    name = "ssh"

    def __init__(self, folder: Path, logs: Path):
        self.folder, self.logs = folder, logs
        self.host = ""
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        if not Path(sshd).exists():
            raise Unavailable("sshd is not installed (apt-get install openssh-server: "
                              "make rehearsal does it)")
        if os.geteuid() != 0:
            raise Unavailable("sshd must listen on port 22 (as the guide's target has no "
                              "port), which needs root")
        self.folder.mkdir(parents=True, exist_ok=True)
        for key in ("host", "client"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                            f"rehearsal-{key}", "-f", str(self.folder / key)], check=True)
        rrsync = shutil.which("rrsync") or "/usr/bin/rrsync"
        authorized = self.folder / "authorized_keys"
        authorized.write_text(f'restrict,command="{rrsync} -ro {self.logs}" '
                              + (self.folder / "client.pub").read_text())
        authorized.chmod(0o600)
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder
        self._listen(sshd)

    def _listen(self, sshd: str) -> None:
        # Port 22 on an address of the loopback range of its own: the target in the
        # guide's form (user@host:) has no port, and other sessions may hold 127.0.0.1:22.
        for _ in range(10):
            self.host = f"127.{random.randrange(1, 255)}.{random.randrange(1, 255)}." \
                        f"{random.randrange(2, 255)}"
            config = self.folder / "sshd_config"
            config.write_text("\n".join([
                f"ListenAddress {self.host}", "Port 22", f"HostKey {self.folder / 'host'}",
                f"PidFile {self.folder / 'sshd.pid'}",
                f"AuthorizedKeysFile {self.folder / 'authorized_keys'}",
                "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no", ""]))
            self.proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)],
                                         stdout=subprocess.DEVNULL,
                                         stderr=(self.folder / "sshd.log").open("ab"))
            for _ in range(50):
                if self.proc.poll() is not None:
                    break
                if reachable(self.host, 22):
                    return
                time.sleep(0.1)
            self.stop()
        raise Unavailable(f"sshd did not start: see {self.folder / 'sshd.log'}")

    def publish(self) -> None:
        pass  # live: rsync reads the receiver's folder itself

    def variables(self) -> dict[str, str]:
        user = os.environ.get("USER") or "root"
        pub = (self.folder / "host.pub").read_text().split()
        return {"BANDITORE_LOGS_SOURCE": "ssh", "BANDITORE_LOGS_SSH_TARGET": f"{user}@{self.host}:",
                "BANDITORE_LOGS_SSH_KNOWN_HOSTS": f"{self.host} {pub[0]} {pub[1]}"}

    def secrets(self) -> dict[str, str]:
        return {"BANDITORE_LOGS_SSH_KEY": (self.folder / "client").read_text()}

    def down(self) -> None:
        self.stop()

    def up(self) -> None:
        self._listen(shutil.which("sshd") or "/usr/sbin/sshd")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class S3Source:
    name = "s3"
    bucket = "comune-banditore"

    def __init__(self, folder: Path, logs: Path):
        self.folder, self.logs = folder, logs
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.aws = str(Path(sys.executable).with_name("aws"))

    def start(self) -> None:
        server = Path(sys.executable).with_name("moto_server")
        if not server.exists() or not Path(self.aws).exists():
            raise Unavailable("moto and the aws CLI are not installed: pip install -e "
                              "'.[rehearsal]' (make rehearsal does it)")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL,
                                     stderr=(self.folder / "moto.log").open("ab"))
        for _ in range(100):
            if reachable("127.0.0.1", self.port):
                break
            time.sleep(0.1)
        self._aws("s3api", "create-bucket", "--bucket", self.bucket,
                  "--create-bucket-configuration", "LocationConstraint=eu-south-1")

    def _aws(self, *args: str) -> None:
        env = {**os.environ, **self._credentials(), "AWS_DEFAULT_REGION": "eu-south-1",
               "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        subprocess.run([self.aws, "--endpoint-url", self.endpoint, *args], env=env, check=True,
                       capture_output=True, timeout=120)

    @staticmethod
    def _credentials() -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal-secret"}

    def publish(self) -> None:
        """The receiver host's timer, as the guide writes it."""
        self._aws("s3", "sync", str(self.logs), f"s3://{self.bucket}/webhook-logs/",
                  "--exclude", "*", "--include", "*.jsonl*", "--only-show-errors")

    def variables(self) -> dict[str, str]:
        return {"BANDITORE_LOGS_SOURCE": "s3",
                "BANDITORE_LOGS_S3_URI": f"s3://{self.bucket}/webhook-logs/",
                "BANDITORE_LOGS_S3_REGION": "eu-south-1",
                "BANDITORE_LOGS_S3_ENDPOINT": self.endpoint}

    def secrets(self) -> dict[str, str]:
        keys = self._credentials()
        return {"BANDITORE_LOGS_S3_ACCESS_KEY_ID": keys["AWS_ACCESS_KEY_ID"],
                "BANDITORE_LOGS_S3_SECRET_ACCESS_KEY": keys["AWS_SECRET_ACCESS_KEY"]}

    def down(self) -> None:
        self.stop()

    def up(self) -> None:
        self.start()  # moto keeps nothing: the receiver host copies everything again
        self.publish()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


SOURCES = {"git": GitSource, "ssh": SshSource, "s3": S3Source}
