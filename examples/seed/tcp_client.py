"""A TCP client: connect, send one message, print the answer, close.

Usage: python tcp_client.py SERVER_IP [PORT] [MESSAGE]
"""

import sys
from socket import AF_INET, SOCK_STREAM, socket

if __name__ == "__main__":
    server_ip = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 9999
    message = sys.argv[3] if len(sys.argv) > 3 else "Hello Server"
    client = socket(AF_INET, SOCK_STREAM)
    print("connecting ...")
    client.connect((server_ip, port))   # the three-way handshake
    client.send(message.encode())
    answer = client.recv(2048)
    print(f"answer: {answer.decode()}")
    client.close()
