"""threading.local: one global name, a separate value in every thread.

Usage: python thread_local.py

Each thread stores its own Student in ``context.student``; the helper functions find the
right one without being passed it.
"""

import threading
import time

context = threading.local()


class Student:
    def __init__(self, name):
        self.name = name

    def __str__(self):
        return f"Student:{self.name}"


def greet():
    print(f"{threading.current_thread().name} sees {context.student}")


def rename():
    context.student.name += "-OK"


def run(name):
    context.student = Student(name)
    time.sleep(0.1)           # let the other thread set its own value meanwhile
    rename()
    greet()


if __name__ == "__main__":
    threads = [threading.Thread(target=run, args=(n,), name=f"thread-{n}") for n in ("white", "black")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("main thread has a student:", hasattr(context, "student"))
