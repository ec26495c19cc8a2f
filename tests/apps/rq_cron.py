"""The cron configuration ``rq cron rq_cron.py`` loads (tests/apps/test_rq.py): a job
noting "tick" in the list "ticks" every second."""

from __future__ import annotations

from rq import cron
from rq_app import note

cron.register(note, queue_name="default", args=("ticks", "tick"), interval=1)
