#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""no_unwind_copy.py SRC DST: copy the ELF shared library SRC to DST as a build without unwind
tables looks to the dynamic loader: its PT_GNU_EH_FRAME program header becomes PT_NULL, so no
unwinder finds a function by address in it. The first byte of its GNU build id is flipped too, so
that tools that cache by build id take it for another build. The code is left as it is."""
import struct
import sys

PT_NOTE, PT_GNU_EH_FRAME, NT_GNU_BUILD_ID = 4, 0x6474E550, 3


def main():
    src, dst = sys.argv[1:3]
    b = bytearray(open(src, "rb").read())
    if b[:4] != b"\x7fELF" or b[4] != 2 or b[5] != 1:
        sys.exit(f"{src}: not a 64-bit little-endian ELF file")
    phoff = struct.unpack_from("<Q", b, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", b, 0x36)
    hidden = flipped = False
    for i in range(phnum):
        ph = phoff + i * phentsize
        p_type = struct.unpack_from("<I", b, ph)[0]
        if p_type == PT_GNU_EH_FRAME:
            struct.pack_into("<I", b, ph, 0)
            hidden = True
        elif p_type == PT_NOTE:
            off, size = struct.unpack_from("<Q", b, ph + 8)[0], struct.unpack_from("<Q", b, ph + 32)[0]
            n = off
            while n + 12 <= off + size:
                namesz, descsz, ntype = struct.unpack_from("<III", b, n)
                desc = n + 12 + (namesz + 3) // 4 * 4
                if ntype == NT_GNU_BUILD_ID and b[n + 12:n + 12 + namesz] == b"GNU\0" and descsz:
                    b[desc] ^= 0xFF
                    flipped = True
                n = desc + (descsz + 3) // 4 * 4
    if not hidden or not flipped:
        sys.exit(f"{src}: no PT_GNU_EH_FRAME header or no GNU build id")
    open(dst, "wb").write(b)


main()
