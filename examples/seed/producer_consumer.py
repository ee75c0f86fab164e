"""Producers and consumers sharing a queue.Queue, with threads.

Usage: python producer_consumer.py [ROUNDS]

Two producers top the queue up by 100 items while it holds at most 1000; five consumers take
100 at a time while it holds more than 500. Neither side talks to the other: the queue's own
lock makes put() and get() safe, and get() would block on an empty queue.
"""

import sys
import threading
from queue import Queue
from time import sleep

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
queue = Queue()


class Producer(threading.Thread):
    def run(self):
        for _ in range(ROUNDS):
            if queue.qsize() <= 1000:
                for i in range(100):
                    queue.put(f"item {i}")
            sleep(1)


class Consumer(threading.Thread):
    def run(self):
        for _ in range(ROUNDS):
            if queue.qsize() > 500:
                taken = [queue.get() for _ in range(100)]
                print(f"{self.name} took {len(taken)}, {queue.qsize()} left")
            sleep(1)


if __name__ == "__main__":
    for i in range(500):
        queue.put(f"initial {i}")
    print("queue size at start:", queue.qsize())
    workers = [Producer() for _ in range(2)] + [Consumer() for _ in range(5)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print("queue size at the end:", queue.qsize())
