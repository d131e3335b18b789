"""Container healthcheck: healthy while the consumer's heartbeat is fresh.

The consumer touches the file only while it is connected to the broker and the event
store, so a stale file means it is not consuming.
"""
import os
import sys
import time

HEARTBEAT_FILE = "/tmp/heartbeat"
MAX_AGE_SECONDS = 15

try:
    age = time.time() - os.stat(HEARTBEAT_FILE).st_mtime
except FileNotFoundError:
    sys.exit("no heartbeat yet")
if age >= MAX_AGE_SECONDS:
    sys.exit(f"heartbeat is {age:.0f} s old")
