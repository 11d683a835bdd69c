"""Sending: due announcements x subscribers, to the transport, each exactly once.

- :mod:`.manager` runs a send: settle, plan, build the bodies, send, summarise;
- :mod:`.audience` is the one place an announcement's audience is computed (who,
  and who of them can be reached), read by planning, the dry run, the counts file
  (:mod:`.counts`) and the reviewer;
- :mod:`.plan` creates the deliveries, :mod:`.settle` trusts the webhooks and the
  outbox over the database after a crash;
- :mod:`.welcome_first` orders a citizen's welcome before their announcements
  (never a gate; emergencies never wait);
- :mod:`.queue` decides what goes next and folds the journal into the database;
  :mod:`.journal` is the fsynced file each delivery's moves are appended to;
- :mod:`.store` holds every SQL statement of sending, each named, and the contract
  of the temporary tables; a delivery's state changes only in :mod:`.store.transitions`;
- :mod:`.payloads` builds what is sent; :mod:`.retry` decides retries and holds
  them until their time;
- :mod:`.engine` only moves messages, in worker threads;
- :mod:`.results` holds what each step returns; :mod:`.summary` and :mod:`.progress`
  tell staff what happened, every delivery not made with its reason;
  :mod:`.left_out` names an emergency that missed someone.
"""

from .manager import send
from .queue import fold_log
from .summary import SendSummary, report

__all__ = ["SendSummary", "fold_log", "report", "send"]
