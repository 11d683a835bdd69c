"""Announcements: the Markdown files staff write, read, rendered and checked.

The checker never depends on its presenters: results and problems are leaf types,
the checker returns them, and the presenters import the checker.

- :mod:`.model`: the one front-matter schema; :mod:`.reading` reads a file into it;
- :mod:`.render`: Markdown to exactly what a citizen receives on WhatsApp
  (:mod:`.oneline`: blocks on one line, for a template parameter);
- :mod:`.bubble`: the whole message as the citizen sees it (text and HTML), the one
  renderer every preview uses;
- :mod:`.schedule`: when it goes out (quiet hours, urgency, expiry);
  :mod:`.weekly_cap`: what the weekly cap counts, week by week;
- :mod:`.rules`: the town's policy, one module per family of rules, and their registry;
  :mod:`.personal_data` finds phone numbers, e-mails, codici fiscali (citizens' texts too);
- :mod:`.validate`: the checker, every rule over the repository;
  :mod:`.problems` and :mod:`.results` the types it returns;
- presenters: :mod:`.formats` (terminal, GitHub annotations, JSON), :mod:`.summaries`
  (the step summary and the pull request's comment), :mod:`.review` (the reviewer's
  block), :mod:`.report` (what ``validate`` and ``preview`` print), :mod:`.escape`
  (file text made inert in GitHub's Markdown), :mod:`.pull_request` (the trusted
  comment from a pull request's files read as data);
- :mod:`.counts_file`: the counts-only file the send workflow publishes, as the
  reviewer reads it; :mod:`.catalogue`: the templates as Meta has them now.

Importing the package registers every rule, so the registry is never half full.
"""

from . import rules  # noqa: F401
