"""Announcements: the Markdown files staff write, read, rendered and checked.

- :mod:`.model`: the one front-matter schema; :mod:`.reading` reads a file into it;
- :mod:`.render`: Markdown to exactly what a citizen receives on WhatsApp
  (:mod:`.oneline`: blocks on one line, for a template parameter);
- :mod:`.bubble`: the whole message as the citizen sees it (text and HTML), the one
  renderer every preview uses;
- :mod:`.policy`: the rule registry; :mod:`.rules`, :mod:`.text_rules`,
  :mod:`.markup_rules`, :mod:`.template_rules`, :mod:`.schedule` and
  :mod:`.lifecycle` (corrections, withdrawals, drills) the rules;
  :mod:`.personal_data` finds phone numbers, e-mails, codici fiscali (citizens' texts too);
- :mod:`.validate`: every rule over the repository, and ``preview``;
- :mod:`.problems` the Problem type, :mod:`.publish` how problems are printed,
  :mod:`.review` the reviewer's block;
- :mod:`.counts_file`: the counts-only file the send workflow publishes, as the
  reviewer reads it; :mod:`.catalogue`: the templates as Meta has them now.

Importing the package registers every rule, so the registry is never half full.
"""

from . import lifecycle, markup_rules, rules, schedule, template_rules, text_rules  # noqa: F401
