"""Connect, send a message, read the answer, close (the sockets-basics lab).

Usage: python tcp_client.py SERVER PORT MESSAGE
"""

import sys
from socket import AF_INET, SOCK_STREAM, socket

server_ip, port, message = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sock = socket(AF_INET, SOCK_STREAM)
sock.connect((server_ip, port))             # SYN -> SYN-ACK -> ACK
print(f"connected from port {sock.getsockname()[1]}")
sock.sendall(message.encode())
reply = sock.recv(1024)
print(f"reply {reply!r}")
sock.close()                                # sends FIN
