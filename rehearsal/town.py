"""The town on one machine: every piece started, wired together and stopped.

The repository (a bare copy of the town's), GitHub (its API, Actions' cache,
artifacts, Pages and the runner machine), the receiver host (gunicorn and a
log source), Meta (the loopback Cloud API and its status webhooks), the
citizens, and the clock. It is also the :class:`rehearsal.jobs.Host` that jobs run on.

The clock: the week is played faster than it happens. The rehearsal's time
starts on a weekday morning and advances with the real one; the scenario
moves it on to the next day between days. Citizens' messages carry it as
Meta's ``timestamp``, and runs get it as ``BANDITORE_NOW`` (set in the runner
machine's environment, as a self-hosted runner's would be: the one
environment variable the workflows do not set themselves, with
``BANDITORE_WHATSAPP_API_BASE``, which points at the loopback Cloud API).
"""

from __future__ import annotations

import secrets as random_secrets
import shutil
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from runner.config import load_settings

from .citizens import Citizens
from .cloud import CloudApi, Poster
from .github_api import GitHub, GitHubServer
from .gitside import Remote
from .jobs import Run
from .logsources import SOURCES, Unavailable
from .receiver import Receiver
from .scheduler import Scheduler
from .storage import ArtifactStore, CacheStore
from .toolcache import ToolCache
from .workflows import load_all

REPOSITORY = "comune-di-esempio/banditore"
# Secrets that send or decrypt: in the `production` environment where the
# workflows name one (issue 22), repository-wide otherwise.
ENVIRONMENT_SECRETS = ("BANDITORE_WHATSAPP_TOKEN", "BANDITORE_CACHE_PASSPHRASE",
                       "BANDITORE_PSEUDONYM_KEY", "BANDITORE_LOGS_SSH_KEY",
                       "BANDITORE_LOGS_S3_ACCESS_KEY_ID", "BANDITORE_LOGS_S3_SECRET_ACCESS_KEY",
                       "BANDITORE_TELEGRAM_TOKEN")


RUNNER_IMAGE_TOOLS = ("gh", "aws")


class Clock:
    def __init__(self, start: datetime):
        self.base, self.real = start, time.monotonic()

    def now(self) -> datetime:
        return self.base + timedelta(seconds=time.monotonic() - self.real)

    def unix(self) -> int:
        return int(self.now().timestamp())

    def next_day(self, hour: int = 9) -> None:
        day = (self.now() + timedelta(days=1)).replace(hour=hour, minute=0, second=0)
        self.base, self.real = day, time.monotonic()


class Town:
    def __init__(self, source: Path, folder: Path, start: datetime, log=print):
        self.source, self.scratch, self.log = source, folder, log
        self.repository = REPOSITORY
        self.clock = Clock(start)
        self.settings = load_settings()
        self.app_secret = random_secrets.token_urlsafe(16)
        self.whatsapp_token = random_secrets.token_urlsafe(16)
        self.repo_vars = {"BANDITORE_WHATSAPP_PHONE_NUMBER_ID": "109876543210987"}
        self.repo_secrets = {"BANDITORE_WHATSAPP_TOKEN": self.whatsapp_token,
                             "BANDITORE_CACHE_PASSPHRASE": random_secrets.token_urlsafe(32),
                             "BANDITORE_PSEUDONYM_KEY": random_secrets.token_urlsafe(32)}
        self.environments: dict[str, dict] = {}
        self.sources: dict[str, object] = {}
        self.source_name = ""
        self.unavailable: dict[str, str] = {}
        self.pages_dir = folder / "pages"
        self.image_tools = folder / "runner-image-tools"
        self.toolcache = ToolCache(folder / "toolcache")
        self.caches = CacheStore(folder / "actions-cache")
        self.artifacts = ArtifactStore(folder / "artifacts")
        self.remote = Remote(folder / "github")
        self.github = GitHub(REPOSITORY, self.remote, self.artifacts)
        self.scheduler = Scheduler(self)
        self.on_run_start = []  # callables(run)
        self.dispatched: list[float] = []  # time.monotonic() of each dispatch GitHub took
        self._stack = []

    # --- start and stop -----------------------------------------------------------------------

    def start(self) -> None:
        (self.scratch / "github").mkdir(parents=True)
        # The runner image's tools the workflows call (gh, aws), from the rehearsal extra.
        self.image_tools.mkdir()
        for tool in RUNNER_IMAGE_TOOLS:
            found = Path(sys.executable).with_name(tool)
            if not found.exists():
                raise RuntimeError(f"{tool} is missing: pip install -e '.[rehearsal]' "
                                   "(make rehearsal does it)")
            (self.image_tools / tool).symlink_to(found)
        self.pages_dir.mkdir()
        self.toolcache.create()
        self.remote.create(self.source)
        for name, workflow in load_all(self.source).items():
            self.github.add_workflow(name, workflow.name)
            if any(job.environment == "production" for job in workflow.jobs):
                self.environments["production"] = {"branches": ["main"], "secrets": {}}
        self.api = GitHubServer(self.github)
        self._enter(self.api)
        self.github.on_dispatch = self._dispatched
        self.api_proxy = self.api.base
        # The receiver's token: Actions read and write on the one repository (issue 22).
        token = random_secrets.token_urlsafe(16)
        self.github.tokens[token] = {"actions": "write"}
        dispatch = {"BANDITORE_GITHUB_REPOSITORY": REPOSITORY,
                    "BANDITORE_GITHUB_DISPATCH_TOKEN": token,
                    "BANDITORE_GITHUB_API_BASE": self.api.base}
        self.receiver = Receiver(self.scratch / "receiver-host", self.source, self.app_secret,
                                 random_secrets.token_urlsafe(16), dispatch)
        self.receiver.start()
        self.poster = Poster(lambda: self.receiver.url, self.app_secret)
        self.citizens = Citizens(self.settings, self.poster, self.clock.unix)
        people = self.citizens.by_number
        self.cloud = CloudApi(self.whatsapp_token, self.poster, self.clock.unix,
                              unreachable=lambda n: people().get(n) is not None
                              and people()[n].unreachable,
                              reads=lambda n: people().get(n) is None or people()[n].reads)
        self._enter(self.cloud)
        for name, cls in SOURCES.items():
            source = cls(self.scratch / f"logs-{name}", self.receiver.logs)
            try:
                source.start()
                self.sources[name] = source
            except Unavailable as exc:
                self.unavailable[name] = str(exc)

    def _dispatched(self, file: str, ref: str, inputs: dict) -> str | None:
        """GitHub's Actions on a ``workflow_dispatch`` from the API: the run is queued
        (the scenario's thread runs the queue, one run at a time, as the state's
        concurrency group would)."""
        refused = self.scheduler.dispatch(file, ref, inputs)
        if refused is None:
            self.dispatched.append(time.monotonic())
            self.log(f"  GitHub: {file} dispatched on {ref} by the API: a run is queued")
        return refused

    def _enter(self, thing) -> None:
        thing.__enter__()
        self._stack.append(thing)

    def stop(self) -> None:
        # Meta first (no more webhooks), then the receiver, then the log sources.
        while self._stack:
            self._stack.pop().__exit__(None, None, None)
        if getattr(self, "receiver", None):
            self.receiver.stop()
        for source in self.sources.values():
            source.stop()

    def use_source(self, name: str) -> None:
        self.source_name = name
        self.log(f"the town's logs now come from {name} (BANDITORE_LOGS_SOURCE={name})")

    # --- the Host the jobs run on ---------------------------------------------------------------

    def machine_env(self) -> dict[str, str]:
        import os

        path = os.pathsep.join([str(self.image_tools), os.environ.get("PATH", "/usr/bin:/bin")])
        return {"PATH": path, "BANDITORE_NOW": self.clock.now().isoformat(timespec="seconds"),
                "BANDITORE_WHATSAPP_API_BASE": self.cloud.base,
                "GH_HOST": "github.localhost", "HTTP_PROXY": self.api.base,
                "http_proxy": self.api.base, "NO_PROXY": "127.0.0.1",
                "no_proxy": "127.0.0.1", "GH_NO_UPDATE_NOTIFIER": "1",
                "GH_PROMPT_DISABLED": "1", "GH_CONFIG_DIR": str(self.scratch / "gh-config"),
                **self.toolcache.env()}

    def all_secrets(self) -> dict[str, str]:
        source = self.sources.get(self.source_name)
        return {**self.repo_secrets, **(source.secrets() if source else {})}

    def secrets(self, environment: str | None, ref: str, where: str) -> dict[str, str]:
        every = self.all_secrets()
        if "production" not in self.environments:
            return every
        shared = {k: v for k, v in every.items() if k not in ENVIRONMENT_SECRETS}
        if environment != "production":
            return shared
        if ref not in ("refs/heads/main",):
            raise PermissionError(f"{where}: branch {ref} may not use the environment "
                                  "production (deployment branches: main)")
        return every

    def variables(self) -> dict[str, str]:
        source = self.sources.get(self.source_name)
        return {**self.repo_vars, **(source.variables() if source else {})}

    def new_token(self, permissions: dict[str, str]) -> str:
        token = "ghs_" + random_secrets.token_urlsafe(16)
        self.github.tokens[token] = dict(permissions)
        return token

    def permissions(self, token: str) -> dict[str, str]:
        return self.github.tokens.get(token, {})

    def repository_json(self) -> dict:
        return {"full_name": REPOSITORY, "default_branch": "main"}

    def before_run(self, run: Run) -> None:
        source = self.sources.get(self.source_name)
        if source is not None:
            try:
                source.publish()
            except Exception as exc:  # noqa: BLE001 - the source may be down on purpose
                self.log(f"  (the receiver host could not copy its logs: {exc})")
        for hook in self.on_run_start:
            hook(run)

    def cleanup(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
