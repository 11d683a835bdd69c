"""The staff's tools: the subscribers' list (:mod:`.listing`), the decisions staff make
and apply at once (:mod:`.decide`), the near misses to look at (:mod:`.near_misses`),
and moving a town's existing list in (:mod:`.imports`, ``subscribers import``), which
reads a vCard or CSV (:mod:`.contacts`) and every spelling of a number
(:mod:`.numbers`)."""
