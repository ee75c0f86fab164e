"""A pool of TCP clients built with multiprocessing.Pool.

Usage: python pool_clients.py SERVER_IP [PORT] [ROUNDS]

Three worker processes each connect ROUNDS times, two seconds apart: against an iterative
server they queue up, against a concurrent one they are served side by side.
"""

import sys
from multiprocessing import Pool
from socket import AF_INET, SOCK_STREAM, socket
from time import sleep


def one_exchange(server, name):
    client = socket(AF_INET, SOCK_STREAM)
    client.connect(server)
    client.send(f"Hello server from client {name}".encode())
    while True:
        data = client.recv(2048)
        if not data:
            break
        print(f"client {name} got: {data.decode()}")
        if len(data) < 1024:
            break
    client.close()


def run(server, name, rounds):
    for _ in range(rounds):
        one_exchange(server, name)
        sleep(2)
    return name


if __name__ == "__main__":
    server = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1",
              int(sys.argv[2]) if len(sys.argv) > 2 else 9999)
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    pool = Pool(3)
    results = [pool.apply_async(run, args=(server, i, rounds)) for i in range(3)]
    pool.close()         # no more work: the workers exit once theirs is done
    pool.join()          # only allowed after close()
    print("clients done:", [r.get() for r in results])
