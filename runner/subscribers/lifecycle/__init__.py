"""A citizen's lifecycle: what their messages and the staff decisions mean. The keywords
(:mod:`.keywords`) and topics (:mod:`.topics`) of the town; the staff decisions as the
repository keeps them (:mod:`.decisions`: the state machine's other input); the
subscriber state machine, a pure function of one citizen's history
(:mod:`.machine`); its outcome for many citizens, replayed and stored
(:mod:`.recompute`); the replies, notices and hints due, and their texts
(:mod:`.notices`)."""
