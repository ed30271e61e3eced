# FNV-1a (64-bit) over the memory given to the program.
# r1 = address of the memory, r2 = its length; returns the hash in r0.
#
#   bpfkit run Examples/fnv1a.s --mem-hex 68656c6c6f      # "hello"
lddw %r0, 0xcbf29ce484222325    # offset basis
lddw %r5, 0x100000001b3         # FNV prime
jeq %r2, 0, done
mov %r3, %r1
add %r2, %r1                    # r2 = end of the memory
next:
ldxb %r4, [%r3+0]
xor %r0, %r4
mul %r0, %r5
add %r3, 1
jlt %r3, %r2, next
done:
exit
