# SPDX-License-Identifier: BSD-2-Clause
"""Send COUNT UDP datagrams of SIZE random bytes over 127.0.0.1 to a socket bound here (so that no
ICMP errors are sent back), RATE per second at most (0: as fast as possible); with EVERY, print
"sent N" after each EVERY of them."""
import os
import socket
import sys
import time

count, size, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
every = int(sys.argv[4]) if len(sys.argv) > 4 else 0
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 0))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
start = time.monotonic()
for i in range(count):
    tx.sendto(os.urandom(size), rx.getsockname())
    if every and (i + 1) % every == 0:
        print("sent", i + 1, flush=True)
    if rate and i % 100 == 99:
        ahead = (i + 1) / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
