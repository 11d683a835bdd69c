"""The town's policy: every rule an announcement is held to, one module per family.

Each rule is a small generator registered in :mod:`.registry` that yields problems
with a rule id, the file and the line; :mod:`.context` is what a rule may consult
beyond its own file. Rule ids by family (reading the file adds ``schema``,
``yaml-syntax``, ``encoding``, ``empty-file``, ``front-matter-missing``,
``front-matter-unterminated``, ``front-matter-not-mapping``, ``file-too-large``,
``file-unreadable``: :mod:`runner.announcements.reading`):

- :mod:`.lifecycle`: lifecycle-reference, lifecycle-withdrawn, lifecycle-category,
  exercise-recipients, title-label (corrections, withdrawals, drills) and
  already-sent (an edit to what citizens already received);
- :mod:`.markup`: markup (Markdown WhatsApp cannot show);
- :mod:`.template`: template-required, template-approved, template-text,
  template-length (the template as Meta has it);
- :mod:`.text`: link-domain, personal-data (what the title and body say);
- :mod:`.category`: category, emergency-category;
- :mod:`.timing`: weekly-cap, expiry, expired, quiet-hours (when it goes out);
- :mod:`.files`: file-name, file-date, year-folder, duplicate-id;
- :mod:`.message`: template, template-header, length (the rendered message);
- :mod:`.media`: media.

A rule may yield a ``warning``: shown, but the announcement still goes out.

Importing this package registers every rule, so the registry is never half full.
The families are imported in this order because rules run in the order they were
registered, and the staff's form lists a draft's problems in that order.
"""

# isort: off
from . import lifecycle, markup, template, text  # noqa: F401 (importing registers the rules)
from . import category, timing, files, message, media  # noqa: F401
# isort: on
