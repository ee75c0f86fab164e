"""UDP sender: bind a fixed port, send a greeting, print the reply, pause, repeat.

Usage: python udp_sender.py SERVER_IP [ROUNDS]

The shape of the lesson's first socket program; it runs unchanged on a real machine (start
udp_receiver.py first) and on a netsim host (``host.run_program("udp_sender.py", [...])``).
"""

import sys
from socket import AF_INET, SOCK_DGRAM, socket
from time import sleep

SERVER_PORT = 9090
MY_PORT = 8000

if __name__ == "__main__":
    server_ip = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    sock = socket(AF_INET, SOCK_DGRAM)
    sock.bind(("", MY_PORT))          # a fixed source port, so the receiver sees 8000
    for n in range(rounds):
        sock.sendto(f"Hello {n} 您好".encode(), (server_ip, SERVER_PORT))
        data, addr = sock.recvfrom(2048)   # 2 KB is plenty for one datagram here
        print(f"reply from {addr[0]}:{addr[1]}: {data.decode()}")
        sleep(3)
    sock.close()
