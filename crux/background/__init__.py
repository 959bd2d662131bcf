"""Engine processes (SPEC §8.5): the work that runs beside the web workers, not inside them.

    engine.py    the process (`crux engine`): registration in `wfengine`, beats, `dead` marks,
                 a clean stop, and a thread per job
    expiry.py    the expiry sweep job (SPEC §8.3)
    webhooks.py  the webhook delivery job (SPEC §9.3)

A job is any object with `run_once() -> bool` (True: it did something and more may be waiting,
so it runs again at once; False: it rests `idle` seconds, an attribute it may have). Engines
share the work through the database (row locks with SKIP LOCKED, advisory locks, leases),
never through a leader, so any number of them may run against one database.
"""
