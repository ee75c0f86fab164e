"""Send one UDP datagram and wait for the answer (the sockets-basics lab).

Usage: python udp_sender.py SERVER PORT MESSAGE
"""

import sys
from socket import AF_INET, SOCK_DGRAM, socket

server_ip, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket(AF_INET, SOCK_DGRAM)
sock.sendto(message.encode(), (server_ip, port))  # no connection: just send
print(f"sent {message!r} from port {sock.getsockname()[1]} to {server_ip} port {port}")
reply, addr = sock.recvfrom(2048)
print(f"reply {reply!r} from {addr[0]} port {addr[1]}")
sock.close()
