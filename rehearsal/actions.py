"""The actions the workflows use, each mapped to its local equivalent: the one place.

Matched by name, whatever follows the ``@`` (a tag or a pinned commit SHA).
An action missing from :data:`MAPPINGS`, or given an input its mapping does not
read (:data:`INPUTS`), stops the rehearsal with the file, job and step that use
it (:func:`rehearsal.workflows.check`): an input silently ignored would be a
step played otherwise than written; the repository's own
composite actions (``uses: ./path`` or ``$/path``) are not mapped, they run as written.

- ``actions/checkout``: ``git fetch`` of the run's commit (or ``ref:``) from the bare
  repository standing in for GitHub's into the workspace (or ``path:`` under it),
  ``fetch-depth`` honoured (1 by default, 0 for all); a branch ref is checked out as
  that branch. ``persist-credentials`` holds trivially: the bare repository needs
  none, so none is written into ``.git/config``.
- ``actions/setup-python``: the rehearsal's Python first on ``PATH`` (a throwaway
  virtualenv layered on the one running the rehearsal, :mod:`.toolcache`);
  ``pip install`` then installs into it offline, from what that environment has.
  Counted as installation, as the workflow's ``pip install`` steps are. ``cache``
  and ``cache-dependency-path`` (pip's download cache) change nothing offline.
- ``actions/cache/restore``, ``actions/cache/save``: :class:`rehearsal.storage.CacheStore`
  (exact key, else the newest entry matching ``restore-keys``; scoped by branch;
  outputs ``cache-hit``, ``cache-matched-key``, ``cache-primary-key``).
- ``actions/upload-artifact``: :class:`rehearsal.storage.ArtifactStore`, files relative to
  the deepest folder they share; ``if-no-files-found`` warn, error or ignore;
  ``retention-days`` outlasts the rehearsal whatever its value.
- ``actions/download-artifact``: by ``name`` from this run, or from ``run-id`` with
  ``github-token``; a missing artifact fails the step.
- ``actions/configure-pages``: the ``base_url`` of a stand-in Pages site.
- ``actions/upload-pages-artifact``: the folder as the ``github-pages`` artifact (a tar).
- ``actions/deploy-pages``: unpacks that artifact into the rehearsal's published site;
  refused without ``pages: write`` and ``id-token: write``.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


class ActionFailed(Exception):
    """The action failed the step, as the real one would."""


@dataclass
class StepContext:
    host: object
    run: object
    workspace: Path
    temp: Path
    env: dict[str, str]
    token: str
    log: Callable[[str], None]
    path_add: list[str] = field(default_factory=list)


def _lines(value) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def _git(ctx: StepContext, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ctx.workspace, capture_output=True, text=True,
                          env={**ctx.env, "GIT_TERMINAL_PROMPT": "0"})
    if done.returncode:
        raise ActionFailed(f"git {args[0]}: {done.stderr.strip()[-300:]}")
    return done.stdout


def checkout(ctx: StepContext, with_: dict) -> dict:
    ref = str(with_.get("ref") or "") or ctx.run.sha
    depth = int(with_.get("fetch-depth", 1) or 0)
    folder = (ctx.workspace / str(with_.get("path") or ".")).resolve()
    if not folder.is_relative_to(ctx.workspace.resolve()):
        raise ActionFailed(f"Repository path '{folder}' is not under '{ctx.workspace}'")
    folder.mkdir(parents=True, exist_ok=True)
    ctx = dataclasses.replace(ctx, workspace=folder)  # git runs in the checkout's folder
    _git(ctx, "init", "-q", ".")
    _git(ctx, "remote", "add", "origin", ctx.host.remote.bare.as_uri())
    depth_args = [f"--depth={depth}"] if depth else []
    target = ref if len(ref) == 40 else f"refs/heads/{ref}"
    _git(ctx, "fetch", "-q", "--no-tags", *depth_args, "origin", target)
    sha = _git(ctx, "rev-parse", "FETCH_HEAD").strip()
    branch = ctx.run.ref.removeprefix("refs/heads/") if ctx.run.ref.startswith(
        "refs/heads/") and sha == ctx.run.sha else None
    _git(ctx, "checkout", "-q", *(["-B", branch] if branch else ["--detach"]), sha)
    return {"ref": ref, "commit": sha}


def setup_python(ctx: StepContext, with_: dict) -> dict:
    python = Path(ctx.host.toolcache.bin) / "python"
    ctx.path_add.insert(0, str(python.parent))
    version = subprocess.run([str(python), "-c", "import platform;"
                              "print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    wanted = str(with_.get("python-version") or "")
    if wanted and not version.startswith(wanted):
        ctx.log(f"      (python-version {wanted} asked, {version} used: the rehearsal's own)")
    return {"python-version": version, "python-path": str(python), "cache-hit": "false"}


def cache_restore(ctx: StepContext, with_: dict) -> dict:
    key = str(with_["key"])
    entry = ctx.host.caches.restore(key, _lines(with_.get("restore-keys")), ctx.run.ref)
    if entry is None:
        ctx.log(f"      cache: no entry for {key}")
        return {"cache-hit": "false", "cache-primary-key": key, "cache-matched-key": ""}
    with tarfile.open(entry.path) as tar:
        tar.extractall(ctx.workspace, filter="data")
    ctx.log(f"      cache: restored {entry.key}")
    return {"cache-hit": str(entry.key == key).lower(), "cache-primary-key": key,
            "cache-matched-key": entry.key}


def cache_save(ctx: StepContext, with_: dict) -> dict:
    key = str(with_["key"])
    if not ctx.host.caches.save(key, ctx.run.ref, ctx.workspace, _lines(with_.get("path"))):
        ctx.log(f"      ::warning::Cache save failed: an entry {key} already exists")
    return {}


def upload_artifact(ctx: StepContext, with_: dict) -> dict:
    name = str(with_.get("name") or "artifact")
    files: list[Path] = []
    roots: list[Path] = []
    for pattern in _lines(with_.get("path")):
        base = ctx.workspace / pattern
        if base.is_dir():
            roots.append(base)
            files += [f for f in base.rglob("*") if f.is_file()]
            continue
        for found in glob.glob(str(ctx.workspace / pattern), recursive=True):
            if Path(found).is_file():
                files.append(Path(found))
                roots.append(Path(found).parent)
    if not files:
        mode = str(with_.get("if-no-files-found") or "warn")
        if mode == "error":
            raise ActionFailed(f"No files were found with the provided path for {name}")
        if mode == "warn":
            ctx.log(f"      ::warning::No files were found for the artifact {name}")
        return {}
    root = Path(os.path.commonpath([str(r) for r in roots]))
    artifact = ctx.host.artifacts.upload(ctx.run.id, name, root, files)
    ctx.log(f"      artifact {name}: {len(files)} files")
    return {"artifact-id": str(artifact.id)}


def download_artifact(ctx: StepContext, with_: dict) -> dict:
    run_id = int(with_.get("run-id") or ctx.run.id)
    if run_id != ctx.run.id and not with_.get("github-token"):
        raise ActionFailed("run-id needs github-token")
    name = with_.get("name") or None
    found = ctx.host.artifacts.find(run_id, name)
    if not found:
        raise ActionFailed(f"Unable to download artifact(s): Artifact not found for name: {name}")
    dest = ctx.workspace / str(with_.get("path") or ".")
    for artifact in found:
        target = dest if name else dest / artifact.name
        for file in artifact.folder.rglob("*"):
            if file.is_file():
                out = target / file.relative_to(artifact.folder)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(file.read_bytes())
    return {"download-path": str(dest)}


def configure_pages(ctx: StepContext, with_: dict) -> dict:
    owner, name = ctx.host.repository.split("/")
    base = f"https://{owner}.github.localhost/{name}"
    return {"base_url": base, "origin": f"https://{owner}.github.localhost",
            "host": f"{owner}.github.localhost", "base_path": f"/{name}"}


def upload_pages_artifact(ctx: StepContext, with_: dict) -> dict:
    folder = ctx.workspace / str(with_.get("path") or "_site")
    if not folder.is_dir():
        raise ActionFailed(f"No folder {folder.name} to publish")
    archive = ctx.temp / "artifact.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(folder, arcname=".")
    ctx.host.artifacts.upload(ctx.run.id, str(with_.get("name") or "github-pages"),
                              ctx.temp, [archive])
    return {}


def deploy_pages(ctx: StepContext, with_: dict) -> dict:
    granted = ctx.host.permissions(ctx.token)
    if granted.get("pages") != "write" or granted.get("id-token") != "write":
        raise ActionFailed("deploy-pages needs the permissions pages: write and id-token: write")
    found = ctx.host.artifacts.find(ctx.run.id, str(with_.get("artifact_name")
                                                    or "github-pages"))
    if not found:
        raise ActionFailed("No github-pages artifact in this run")
    site = ctx.host.pages_dir
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    with tarfile.open(found[0].folder / "artifact.tar") as tar:
        tar.extractall(site, filter="data")
    return {"page_url": configure_pages(ctx, {})["base_url"] + "/"}


MAPPINGS: dict[str, Callable[[StepContext, dict], dict]] = {
    "actions/checkout": checkout,
    "actions/setup-python": setup_python,
    "actions/cache/restore": cache_restore,
    "actions/cache/save": cache_save,
    "actions/upload-artifact": upload_artifact,
    "actions/download-artifact": download_artifact,
    "actions/configure-pages": configure_pages,
    "actions/upload-pages-artifact": upload_pages_artifact,
    "actions/deploy-pages": deploy_pages,
}

# The inputs each mapping reads (the same names as MAPPINGS): any other is refused.
INPUTS: dict[str, frozenset[str]] = {
    "actions/checkout": frozenset({"ref", "fetch-depth", "path", "persist-credentials"}),
    "actions/setup-python": frozenset({"python-version", "cache", "cache-dependency-path"}),
    "actions/cache/restore": frozenset({"key", "path", "restore-keys"}),
    "actions/cache/save": frozenset({"key", "path"}),
    "actions/upload-artifact": frozenset({"name", "path", "if-no-files-found",
                                          "retention-days"}),
    "actions/download-artifact": frozenset({"name", "path", "run-id", "github-token"}),
    "actions/configure-pages": frozenset(),
    "actions/upload-pages-artifact": frozenset({"name", "path"}),
    "actions/deploy-pages": frozenset({"artifact_name"}),
}

# Steps counted as package installation, outside the step-time targets (as the issue
# asks): these actions, and run: steps that install packages.
INSTALLATION = frozenset({"actions/setup-python"})
INSTALL_COMMANDS = ("pip install", "npm ci", "npm install")


def is_installation(step: dict) -> bool:
    return (step.get("uses", "").split("@", 1)[0] in INSTALLATION
            or any(command in (step.get("run") or "") for command in INSTALL_COMMANDS))
