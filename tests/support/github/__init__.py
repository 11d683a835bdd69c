"""One fake GitHub for every test that talks to GitHub: a real HTTP server on
127.0.0.1 (:mod:`.server`: the plumbing, the token checks, the record of every call)
serving each API area from a module of its own:

- :mod:`.actions`: the repository and its workflows (the receiver's dispatch);
- :mod:`.pulls`: pull requests, their files, contents at a commit, comments (the
  review-comment workflow's ``gh``; the staff form's drafts);
- :mod:`.git_data`: blobs, trees, commits and refs over a real bare repository (the
  staff form's saves);
- :mod:`.oauth`: the OAuth app the staff form logs in with.

``python -m tests.support.github`` runs it as a process (bench/dispatch.py): it prints
its base URL, then one JSON line per call, ``{"kind": ..., "at": <time.monotonic()>}``,
until stopped; the monotonic clock is the machine's, so the bench compares it with
its own.
"""

from .oauth import CLIENT_ID, CLIENT_SECRET
from .pulls import PullRequest
from .server import REPOSITORY, TOKEN, Call, FakeGitHub

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "REPOSITORY", "TOKEN", "Call", "FakeGitHub",
           "PullRequest"]
