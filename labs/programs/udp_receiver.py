"""Wait for one UDP datagram and answer it in upper case (the sockets-basics lab).

Usage: python udp_receiver.py PORT
"""

import sys
from socket import AF_INET, SOCK_DGRAM, socket

port = int(sys.argv[1])
sock = socket(AF_INET, SOCK_DGRAM)
sock.bind(("", port))                       # "" = any of this host's addresses
data, (ip, src_port) = sock.recvfrom(2048)  # blocks until a datagram arrives
print(f"got {data!r} from {ip} port {src_port}")
sock.sendto(data.upper(), (ip, src_port))   # reply to whoever sent it
sock.close()
