"""The git side: a local bare repository standing in for the town's repository on GitHub.

It starts as a copy of the town's repository as it is now (tracked files and
new ones not ignored: a town's IT rehearses its own settings before going
live). Staff work in a clone: a branch with a new announcement is pushed and
"opened as a pull request", which, as on GitHub, gets ``refs/pull/N/head`` and
a test merge commit ``refs/pull/N/merge`` (what a ``pull_request`` run checks
out); merging moves ``main`` to that merge.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

IDENTITY = ["-c", "user.name=Ufficio comunicazione", "-c", "user.email=staff@example.invalid",
            "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *IDENTITY, *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"git {' '.join(args[:2])}: {done.stderr.strip()[-500:]}")
    return done.stdout


@dataclass
class PullRequest:
    number: int
    branch: str
    title: str
    head: str
    base: str
    merge: str
    state: str = "open"
    files: list[str] = field(default_factory=list)


class Remote:
    def __init__(self, folder: Path):
        self.folder = folder
        self.bare = folder / "town.git"
        self.staff = folder / "staff"
        self.pulls: dict[int, PullRequest] = {}

    def create(self, source: Path) -> str:
        """The bare repository with the town's files as its first commit on main."""
        git(self.folder, "init", "-q", "--bare", str(self.bare))
        # actions/checkout fetches the run's commit by its SHA.
        git(self.bare, "config", "uploadpack.allowAnySHA1InWant", "true")
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], cwd=source, capture_output=True,
                                check=True).stdout.split(b"\0")
        self.staff.mkdir(parents=True)
        git(self.staff, "init", "-q")
        for name in filter(None, (n.decode() for n in listed)):
            if not (source / name).is_file():
                continue  # deleted in the working tree
            target = self.staff / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target, follow_symlinks=False)
        git(self.staff, "add", "-A")
        git(self.staff, "commit", "-q", "-m", "The town's repository, as the rehearsal found it")
        git(self.staff, "remote", "add", "origin", str(self.bare))
        git(self.staff, "push", "-q", "origin", "HEAD:refs/heads/main")
        return self.sha("main")

    def sha(self, ref: str) -> str:
        return git(self.bare, "rev-parse", ref).strip()

    def open_pull_request(self, branch: str, files: dict[str, str], title: str) -> PullRequest:
        git(self.staff, "fetch", "-q", "origin", "main")
        git(self.staff, "checkout", "-q", "-B", branch, "origin/main")
        for name, text in files.items():
            (self.staff / name).parent.mkdir(parents=True, exist_ok=True)
            (self.staff / name).write_text(text, encoding="utf-8")
        git(self.staff, "add", "-A")
        git(self.staff, "commit", "-q", "-m", title)
        git(self.staff, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
        number = len(self.pulls) + 1
        head, base = self.sha(f"refs/heads/{branch}"), self.sha("main")
        git(self.staff, "checkout", "-q", "--detach", "origin/main")
        git(self.staff, "merge", "-q", "--no-ff", "-m", f"Merge {head} into {base}", branch)
        merge = git(self.staff, "rev-parse", "HEAD").strip()
        git(self.staff, "push", "-q", "origin", f"{head}:refs/pull/{number}/head",
            f"{merge}:refs/pull/{number}/merge")
        changed = git(self.bare, "diff", "--name-only", base, head).split()
        pr = PullRequest(number, branch, title, head, base, merge, files=changed)
        self.pulls[number] = pr
        return pr

    def push_to_pull_request(self, pr: PullRequest, files: dict[str, str], message: str) -> None:
        """Staff push a fix to the branch: a new head and a new test merge."""
        git(self.staff, "checkout", "-q", pr.branch)
        for name, text in files.items():
            (self.staff / name).write_text(text, encoding="utf-8")
        git(self.staff, "commit", "-q", "-am", message)
        git(self.staff, "push", "-q", "origin", f"HEAD:refs/heads/{pr.branch}")
        pr.head, pr.base = self.sha(f"refs/heads/{pr.branch}"), self.sha("main")
        git(self.staff, "checkout", "-q", "--detach", "origin/main")
        git(self.staff, "merge", "-q", "--no-ff", "-m", f"Merge {pr.head} into {pr.base}",
            pr.branch)
        pr.merge = git(self.staff, "rev-parse", "HEAD").strip()
        git(self.staff, "push", "-q", "-f", "origin", f"{pr.head}:refs/pull/{pr.number}/head",
            f"{pr.merge}:refs/pull/{pr.number}/merge")

    def merge(self, pr: PullRequest) -> tuple[str, str]:
        """Main moves to the pull request's merge commit: (before, after)."""
        before = self.sha("main")
        git(self.staff, "push", "-q", "origin", f"{pr.merge}:refs/heads/main")
        pr.state = "closed"
        return before, pr.merge

    def show(self, ref: str, path: str) -> bytes | None:
        done = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=self.bare,
                              capture_output=True)
        return done.stdout if done.returncode == 0 else None

    def blob_sha(self, ref: str, path: str) -> str:
        return git(self.bare, "rev-parse", f"{ref}:{path}").strip()
