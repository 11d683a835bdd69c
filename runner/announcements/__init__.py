"""Announcements: the Markdown files staff write, read, rendered and checked.

- :mod:`.model`: the one front-matter schema; :mod:`.reading` reads a file into it;
- :mod:`.render`: Markdown to exactly what a citizen receives on WhatsApp;
- :mod:`.policy`: the rule registry; :mod:`.rules` and :mod:`.text_rules` the rules;
- :mod:`.validate`: every rule over the repository, and ``preview``;
- :mod:`.problems` the Problem type, :mod:`.publish` how problems are printed.

Importing the package registers every rule, so the registry is never half full.
"""

from . import rules, text_rules  # noqa: F401 (registers the rules)
