# SPDX-License-Identifier: BSD-2-Clause
"""Create tun device NAME (no packet information header) and send every IPv4 UDP packet the kernel
routes into it back with source and destination swapped (addresses and ports: both checksums stay
valid). Prints "ready" once the device exists; runs until killed."""
import fcntl
import os
import struct
import sys

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000

fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", sys.argv[1].encode(), IFF_TUN | IFF_NO_PI))
print("ready", flush=True)
while True:
    p = bytearray(os.read(fd, 65536))
    if len(p) < 28 or p[0] >> 4 != 4 or p[9] != 17:
        continue
    ihl = (p[0] & 15) * 4
    p[12:16], p[16:20] = p[16:20], p[12:16]
    p[ihl:ihl + 2], p[ihl + 2:ihl + 4] = p[ihl + 2:ihl + 4], p[ihl:ihl + 2]
    os.write(fd, bytes(p))
