"""Two threads, two locks taken in opposite orders: a deadlock.

Usage: python deadlock.py

On a real machine this hangs for ever. On netsim the run stops with a DeadlockError naming
each thread and the line it waits on.
"""

import threading
from time import sleep

lock_a = threading.Lock()
lock_b = threading.Lock()


def first_a_then_b():
    with lock_a:
        print("holding A, want B")
        sleep(1)
        with lock_b:
            print("got both")


def first_b_then_a():
    with lock_b:
        print("holding B, want A")
        sleep(1)
        with lock_a:
            print("got both")


if __name__ == "__main__":
    threading.Thread(target=first_a_then_b).start()
    threading.Thread(target=first_b_then_a).start()
