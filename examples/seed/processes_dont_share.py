"""Processes do not share globals: each child changes its own copy of ``num``.

Usage: python processes_dont_share.py

Prints 15 and 20 from the children and num:10 from the parent.
"""

from multiprocessing import Process

num = 10


def add(name, amount):
    global num
    num += amount
    print(f"{name}: num = {num}")


if __name__ == "__main__":
    children = [Process(target=add, args=("child 1", 5)), Process(target=add, args=("child 2", 10))]
    for p in children:
        p.start()
    for p in children:
        p.join()
    print(f"num:{num}")
