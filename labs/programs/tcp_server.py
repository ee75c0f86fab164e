"""Accept one TCP connection, echo what arrives in upper case until the client closes (the
sockets-basics lab).

Usage: python tcp_server.py PORT
"""

import sys
from socket import AF_INET, SOCK_STREAM, socket

port = int(sys.argv[1])
listener = socket(AF_INET, SOCK_STREAM)
listener.bind(("", port))
listener.listen(5)
conn, (ip, src_port) = listener.accept()    # returns after the three-way handshake
print(f"connection from {ip} port {src_port}")
while True:
    data = conn.recv(1024)
    if not data:                            # b"" = the client closed its side (FIN)
        print("client closed; closing too")
        break
    print(f"got {data!r}")
    conn.sendall(data.upper())
conn.close()
listener.close()
