"""The citizens' rights over what is held about them: whom staff mean when they name a
citizen (:mod:`.who`), the right of access (:mod:`.access`), and erasure: the
citizen's lines out of the logs and outbox (:mod:`.erase_lines`) and the commands
for the copies out of reach (:mod:`.out_of_reach`). Their rows in the database go
through the store (:mod:`runner.subscribers.store.erasure`); how numbers and texts
are masked is :mod:`runner.subscribers.privacy`."""
