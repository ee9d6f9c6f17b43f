#!/usr/bin/env python3
# mkbin.py: write the binary inputs of the bad-input catalogue (run in
# tests/bad/files; the outputs are committed, this is their recipe).
import gzip, struct

def npy_bytes(hdr, data=b'', version=b'\x01\x00'):
    h = hdr.encode()
    pad = 64 - (10 + len(h) + 1) % 64
    h += b' ' * pad + b'\n'
    return b'\x93NUMPY' + version + struct.pack('<H', len(h)) + h + data

def npy(name, hdr, data=b'', version=b'\x01\x00'):
    with open(name, 'wb') as f:
        f.write(npy_bytes(hdr, data, version))

def idx(name, nseq, data, version=1, dtype=4, ndoc=None):
    with open(name, 'wb') as f:
        f.write(b'MMIDIDX\0\0' + struct.pack('<QBQQ', version, dtype, nseq,
                nseq + 1 if ndoc is None else ndoc) + data)

def idx_body(lens):
    """What follows the header of a well-formed .idx: the int32 lengths,
    the int64 byte pointers (int32 tokens) and the int64 document indices
    (one document per sequence, len(lens) + 1 of them)."""
    ptr = [0]
    for n in lens[:-1]:
        ptr.append(ptr[-1] + 4 * abs(n))
    return (struct.pack('<%di' % len(lens), *lens) +
            struct.pack('<%dq' % len(lens), *ptr) +
            struct.pack('<%dq' % (len(lens) + 1), *range(len(lens) + 1)))

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
idx('neg.idx', 3, idx_body([347, -10919, 2112]))
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

# ---- issue 15: no silent data loss ----
body4 = idx_body([347, 10919, 2112, 5])
# a header claiming 3 sequences of a file holding 4 (the 4th was lost),
# and one claiming 5 (a pointer was read as the 5th length)
idx('fewer.idx', 3, body4, ndoc=5)
idx('more.idx', 5, body4, ndoc=5)
# 2^62 sequences and documents: a layout past 2^64 bytes
idx('wrap.idx', 1 << 62, body4, ndoc=1 << 62)
# no sequences, one document index
idx('zero-seq.idx', 0, struct.pack('<q', 0))
idx('dtype0.idx', 4, body4, dtype=0)
# sequence lengths of 2^31 - 1 and beyond as int32 wrap negative: -2^31
idx('min-int.idx', 2, idx_body([347, -(1 << 31)]))

m1 = gzip.compress(b'347\n10919\n', 9, mtime=0)
m2 = gzip.compress(b'2112\n5\n', 9, mtime=0)
# the second member's magic damaged: gzread took it for trailing garbage
with open('member2-magic.txt.gz', 'wb') as f:
    f.write(m1 + b'\x1f\x9b' + m2[2:])
# the second member's deflate data damaged (a reserved block type)
with open('member2-corrupt.txt.gz', 'wb') as f:
    f.write(m1 + m2[:10] + b'\xff' + m2[11:])
with open('trailing.txt.gz', 'wb') as f:
    f.write(m1 + b'2112\n')
# padded with zeros to a 512-byte block, as tape and some uploads do
with open('zeros.txt.gz', 'wb') as f:
    f.write(m1 + bytes(512 - len(m1)))
# the trailer's length (ISIZE) wrong
with open('isize.txt.gz', 'wb') as f:
    f.write(m1[:-4] + struct.pack('<I', 11))
# reserved header flag bits set (FLG 0xe0)
with open('flags.txt.gz', 'wb') as f:
    f.write(m1[:3] + b'\xe0' + m1[4:])
# a 10-byte gzip header and nothing more
with open('header-only.txt.gz', 'wb') as f:
    f.write(m1[:10])
# a gzip member of nothing (gzip < /dev/null)
with open('empty.txt.gz', 'wb') as f:
    f.write(gzip.compress(b'', 9, mtime=0))

three_u4 = "{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }"
# a .npy of 3 values inside gzip, with 4 bytes after them
with open('extra.npy.gz', 'wb') as f:
    f.write(gzip.compress(npy_bytes(three_u4, three + bytes(4)), 9, mtime=0))
npy('extra.npy', three_u4, three + struct.pack('<I', 5))
npy('shape2d.npy', "{'descr': '<u4', 'fortran_order': False, "
    "'shape': (3, 2), }", three + three)
npy('shape0d.npy', "{'descr': '<u4', 'fortran_order': False, "
    "'shape': (), }", three[:4])
npy('big-endian.npy', "{'descr': '>u4', 'fortran_order': False, "
    "'shape': (3,), }", struct.pack('>3I', 347, 10919, 2112))
npy('uint8.npy', "{'descr': '|u1', 'fortran_order': False, "
    "'shape': (3,), }", bytes([3, 5, 7]))
npy('twice.npy', "{'descr': '<u4', 'descr': '<f8', 'fortran_order': False, "
    "'shape': (3,), }", three)
npy('unknown-key.npy', "{'descr': '<u4', 'fortran_order': False, "
    "'shape': (3,), 'order': 'C', }", three)
npy('empty.npy', "{'descr': '<u4', 'fortran_order': False, "
    "'shape': (0,), }")
# the header length field says 20: the dict is cut inside 'fortran_order'
with open('hlen-short.npy', 'wb') as f:
    h = b"{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }"
    f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', 20) + h + three)
# version 2.0 with a header length of 2^32 - 1
with open('hlen-huge.npy', 'wb') as f:
    f.write(b'\x93NUMPY\x02\x00' + struct.pack('<I', 0xffffffff) +
            b"{'descr': '<u4'")

# text that is not what it seems
with open('utf16.txt', 'wb') as f:
    f.write('347\n10919\n'.encode('utf-16'))
with open('escape.txt', 'wb') as f:
    f.write(b'347\n\x1b[2J10919\n')
with open('nul.jsonl', 'wb') as f:
    f.write(b'{"length": 347}\n{"length": 10\x00919}\n')
# 2000 nested arrays: past cJSON's nesting limit of 1000
with open('deep.jsonl', 'wb') as f:
    f.write(b'{"length": 347}\n{"length": 5, "x": ' + b'[' * 2000 +
            b']' * 2000 + b'}\n')
