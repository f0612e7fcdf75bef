"""Events as a portal sends them: queued inside the call that causes them (:mod:`.queue`), sent afterwards by
each process's :class:`.sender.Sender`, which claims rows so that every delivery is made once (docs/events.md).
"""
