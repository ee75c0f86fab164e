"""Fetch a URL with urllib.request and print the status and the body.

Usage: python http_fetch.py URL

Serve a directory on another host with ``python -m http.server 8000`` first.
"""

import sys
import urllib.request

if __name__ == "__main__":
    with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
        body = response.read().decode()
    print(response.status, response.reason)
    print(body.strip())
