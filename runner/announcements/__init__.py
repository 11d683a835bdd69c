"""Announcements: the Markdown files staff write, read, rendered and checked.

- :mod:`.model`: the one front-matter schema; :mod:`.reading` reads a file into it;
- :mod:`.render`: Markdown to exactly what a citizen receives on WhatsApp
  (:mod:`.oneline`: blocks on one line, for a template parameter);
- :mod:`.bubble`: the whole message as the citizen sees it (text and HTML), the one
  renderer every preview uses;
- :mod:`.schedule`: when it goes out (quiet hours, urgency, expiry);
  :mod:`.weekly_cap`: what the weekly cap counts, week by week;
- :mod:`.rules`: the town's policy, one module per family of rules, and their registry;
  :mod:`.personal_data` finds phone numbers, e-mails, codici fiscali (citizens' texts too);
- :mod:`.validate`: every rule over the repository, and ``preview``;
- :mod:`.problems` the Problem type, :mod:`.publish` how problems are printed,
  :mod:`.review` the reviewer's block;
- :mod:`.counts_file`: the counts-only file the send workflow publishes, as the
  reviewer reads it; :mod:`.catalogue`: the templates as Meta has them now.

Importing the package registers every rule, so the registry is never half full.
"""

from . import rules  # noqa: F401
