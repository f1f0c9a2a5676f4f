"""The second process of a big reminder pass: `python -m notifications.queue_writer FD`.

It writes the chunks the pass sends over the socket FD (reminder_queue.py), one transaction each.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection

from notifications.reminder_queue import serve

if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
