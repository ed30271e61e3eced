import Testing
@testable import BPFVerifier

/// A frame's stack keeps only the slots up to the deepest one written; what it stores must
/// not change what it means.
@Suite struct StackSlotsTests {
    @Test func unwrittenSlotsReadEmptyAndCostNothing() {
        var stack = StackSlots()
        #expect(stack[63].isEmpty)
        stack[63] = .empty
        #expect(stack.storedCount == 0, "writing an empty slot stores nothing")
        var slot = StackSlot()
        slot.setByte(0, .misc)
        stack[2] = slot
        #expect(stack.storedCount == 3)
        #expect(stack[2] == slot)
        #expect(stack[1].isEmpty && stack[40].isEmpty)
    }

    @Test func equalityAndHashingIgnoreTrailingEmptySlots() {
        var short = StackSlots(), long = StackSlots()
        var slot = StackSlot()
        slot.setByte(3, .zero)
        short[0] = slot
        long[0] = slot
        long[9].setByte(0, .misc)   // grows to 10 slots
        long[9] = .empty            // and empties the last again
        #expect(long.storedCount == 10)
        #expect(short == long)
        #expect(short.hashValue == long.hashValue)
        long[5].setByte(1, .misc)
        #expect(short != long)
    }
}
