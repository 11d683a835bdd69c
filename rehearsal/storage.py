"""GitHub's storage for workflow runs, kept in folders: the Actions cache and artifacts.

Both keep GitHub's rules that the workflows rely on:

- **Cache.** An entry is saved once under its key (saving an existing key
  warns and keeps the old one); a restore takes the exact key or else the
  newest entry whose key starts with one of ``restore-keys``, in their order;
  entries are scoped by branch, and a run also reads the default branch's
  (a pull request's run reads main's caches, which is why the state is
  cached encrypted). :meth:`CacheStore.evict` is GitHub's 7-day eviction.
- **Artifacts.** Named per run; downloaded by name from the same run or,
  with a token, from another run of the repository.
"""

from __future__ import annotations

import io
import itertools
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class CacheEntry:
    key: str
    ref: str
    order: int
    path: Path


class CacheStore:
    def __init__(self, folder: Path, default_ref: str = "refs/heads/main"):
        self.folder = folder
        self.default_ref = default_ref
        folder.mkdir(parents=True, exist_ok=True)
        self.entries: list[CacheEntry] = []
        self._order = itertools.count(1)

    def _visible(self, ref: str) -> list[CacheEntry]:
        return [e for e in self.entries if e.ref in (ref, self.default_ref)]

    def restore(self, key: str, restore_keys: list[str], ref: str) -> CacheEntry | None:
        visible = self._visible(ref)
        for entry in visible:
            if entry.key == key:
                return entry
        for prefix in restore_keys:
            found = [e for e in visible if e.key.startswith(prefix)]
            if found:
                return max(found, key=lambda e: (e.ref == ref, e.order))
        return None

    def save(self, key: str, ref: str, workspace: Path, paths: list[str]) -> bool:
        if any(e.key == key and e.ref == ref for e in self.entries):
            return False
        order = next(self._order)
        archive = self.folder / f"{order:05d}.tar"
        with tarfile.open(archive, "w") as tar:
            for path in paths:
                if (workspace / path).exists():
                    tar.add(workspace / path, arcname=path)
        self.entries.append(CacheEntry(key, ref, order, archive))
        return True

    def evict(self) -> int:
        """Every entry gone, as after 7 days unused."""
        count = len(self.entries)
        for entry in self.entries:
            entry.path.unlink(missing_ok=True)
        self.entries.clear()
        return count


@dataclass
class Artifact:
    id: int
    run_id: int
    name: str
    folder: Path

    def zip_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for file in sorted(self.folder.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(self.folder))
        return buffer.getvalue()

    def size(self) -> int:
        return sum(f.stat().st_size for f in self.folder.rglob("*") if f.is_file())


class ArtifactStore:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.artifacts: list[Artifact] = []
        self._ids = itertools.count(1)

    def upload(self, run_id: int, name: str, root: Path, files: list[Path]) -> Artifact:
        if any(a.run_id == run_id and a.name == name for a in self.artifacts):
            raise ValueError(f"an artifact named {name} already exists in run {run_id}")
        artifact = Artifact(next(self._ids), run_id, name, self.folder / f"{run_id}-{name}")
        for file in files:
            target = artifact.folder / file.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
        artifact.folder.mkdir(parents=True, exist_ok=True)
        self.artifacts.append(artifact)
        return artifact

    def find(self, run_id: int, name: str | None = None) -> list[Artifact]:
        return [a for a in self.artifacts if a.run_id == run_id and name in (None, a.name)]

    def by_id(self, artifact_id: int) -> Artifact | None:
        return next((a for a in self.artifacts if a.id == artifact_id), None)

    def describe(self, artifact: Artifact, api: str, repository: str) -> dict:
        return {"id": artifact.id, "name": artifact.name, "size_in_bytes": artifact.size(),
                "expired": False, "workflow_run": {"id": artifact.run_id},
                "archive_download_url":
                    f"{api}/repos/{repository}/actions/artifacts/{artifact.id}/zip"}
