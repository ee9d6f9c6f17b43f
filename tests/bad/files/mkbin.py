#!/usr/bin/env python3
# mkbin.py: write the binary inputs of the bad-input catalogue (run in
# tests/bad/files; the outputs are committed, this is their recipe).
import gzip, struct

def npy(name, hdr, data=b'', version=b'\x01\x00'):
    h = hdr.encode()
    pad = 64 - (10 + len(h) + 1) % 64
    h += b' ' * pad + b'\n'
    with open(name, 'wb') as f:
        f.write(b'\x93NUMPY' + version + struct.pack('<H', len(h)) + h + data)

def idx(name, nseq, data, version=1, dtype=4):
    with open(name, 'wb') as f:
        f.write(b'MMIDIDX\0\0' + struct.pack('<QBQQ', version, dtype, nseq,
                nseq + 1) + data)

three = struct.pack('<3I', 347, 10919, 2112)
# a header claiming 10^15 uint32 (4 PB) in front of 3 values
npy('huge.npy', "{'descr': '<u4', 'fortran_order': False, "
    "'shape': (1000000000000000,), }", three)
# 10 declared, 3 present
npy('short.npy', "{'descr': '<u4', 'fortran_order': False, "
    "'shape': (10,), }", three)
npy('float.npy', "{'descr': '<f8', 'fortran_order': False, "
    "'shape': (2,), }", struct.pack('<2d', 347.0, 10919.0))
# int64 values, the second 2^33 (above 2^32)
npy('i8-2e33.npy', "{'descr': '<i8', 'fortran_order': False, "
    "'shape': (2,), }", struct.pack('<2q', 347, 1 << 33))
npy('v9.npy', "{'descr': '<u4', 'fortran_order': False, "
    "'shape': (3,), }", three, version=b'\x09\x00')
# the dict cut inside the shape tuple
npy('badhdr.npy', "{'descr': '<u4', 'fortran_order': False, "
    "'shape': (3,", three)
# magic, version, a header length of 118 and 15 bytes of it
with open('hdrcut.npy', 'wb') as f:
    f.write(b"\x93NUMPY\x01\x00\x76\x00{'descr': '<u4'")
# 2^62 sequences declared, 3 present
idx('huge.idx', 1 << 62, struct.pack('<3i', 347, 10919, 2112))
idx('neg.idx', 3, struct.pack('<3i', 347, -10919, 2112))
with open('hdrcut.idx', 'wb') as f:
    f.write(b'MMIDIDX\0\0\x01\0\0\0')
# a gzip stream of 3 lines: cut before its trailer, and with a wrong CRC
z = gzip.compress(b'347\n10919\n2112\n', 9, mtime=0)
with open('cut.txt.gz', 'wb') as f:
    f.write(z[:-6])
with open('crc.txt.gz', 'wb') as f:
    f.write(z[:-8] + bytes(b ^ 0x5a for b in z[-8:-4]) + z[-4:])
# a text trace with a NUL byte on line 2
with open('nul.txt', 'wb') as f:
    f.write(b'347\n109\x0019\n2112\n')
