"""The rehearsal: a town's week on loopback, with the real pieces, before going live.

``make rehearsal`` (or ``python -m rehearsal``, from the town's repository)
runs the repository's own workflows step by step as GitHub would
(:mod:`.workflows`, :mod:`.expressions`, :mod:`.jobs`, :mod:`.actions`), against a
bare copy of the repository (:mod:`.gitside`), a fake GitHub API
(:mod:`.github_api`), the receiver under gunicorn (:mod:`.receiver`), a loopback
Cloud API that answers sends and posts signed status webhooks back
(:mod:`.cloud`), simulated citizens (:mod:`.citizens`) and every log source of
fetch-logs.sh (:mod:`.logsources`). :mod:`.scenario` plays the week with its bad
days, :mod:`.check` holds every citizen's messages against what they did, and
:mod:`.report` prints the time of every step. It exits 1 on any loss.

It is not part of the ``runner`` package (nothing a town installs on its
receiver or in CI needs it) and imports the project's loopback Cloud API from
``tests/``.
"""
