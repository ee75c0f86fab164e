"""Two processes talking through a multiprocessing.Queue of three places.

Usage: python process_queue.py

The writer puts four messages; the fourth put() waits until the reader has taken one. The
reader gives up when nothing arrives within a second (get(timeout=1) raises queue.Empty).
"""

import queue
from multiprocessing import Process, Queue
from time import sleep


def writer(q, message):
    sleep(0.5)
    for i in range(4):
        q.put(f"{message} {i}")
    print("writer done")


def reader(q):
    while True:
        try:
            print("read:", q.get(timeout=1))
        except queue.Empty:
            print("nothing for a second: reader stops")
            break


if __name__ == "__main__":
    q = Queue(3)
    processes = [Process(target=writer, args=(q, "message")), Process(target=reader, args=(q,))]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
