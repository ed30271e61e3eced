/// BPFJIT: translates eBPF programs into x86-64 machine code, using the facts the
/// verifier proved (trusted mode) or checking every access (checked mode). It knows
/// nothing of ELF, maps or the CLI. Entry point: `JITCompiler`; the result, `JITProgram`,
/// runs like the interpreter (`ProgramEngine`).
///
/// Design, in short:
/// - Registers: r0 rax, r1-r5 rdi rsi rdx rcx r8 (the C argument registers, so a helper
///   call needs no moves), r6-r9 rbx r13 r14 r15 (callee-saved), r10 rbp. r12 holds the
///   run's context block (`Context`); r9, r10, r11 are scratch. Programs that write r10
///   are refused (`JITError.framePointerWritten`), as Linux's verifier refuses them.
/// - Stack: a separate block of 8 frames of 512 bytes, laid out as the interpreter's, so
///   checked mode allows exactly the same addresses. rbp points at the top of the current
///   frame. The machine stack holds only return addresses and saved registers.
/// - Functions: every slot has a label. `call local` saves r6-r10 at the call site, moves
///   rbp down one frame, clears the callee's frame and calls the label; `exit` is `ret`.
///   So a tail call is a `jmp` into the target program's slot 0 in the same frame, and a
///   callback (`HelperCallContext.callFunction`) can start at any slot.
/// - Helpers: JIT'd code calls one C trampoline with r1-r5 in place and the context block
///   in r9; a call site record names the helper. Errors, early exits and tail calls come
///   back as a status in the context block; JIT'd code unwinds to the host, which throws
///   the interpreter's `ExecutionError`.
/// - Memory: code is written into a read-write mapping, which is then made read-execute
///   (never both); `ExecutableMemory` unmaps it when its `NativeUnit` goes away.
/// - Checked mode: an access through r10 at a constant offset inside the frame is not
///   tested; any other is tested inline against the live stack frames, then out of line
///   against the run's first region and the region table (which also holds the regions
///   helpers grant). Instructions are counted per straight-line segment and the budget
///   tested on taken jumps and calls, where the interpreter tests it, so budget errors and
///   `instructionsExecuted` are exact. Trusted mode counts nothing (`instructionsExecuted`
///   is 0) and has no budget, as in Linux; `may_goto` keeps its own counter in both.
enum BPFJITModule {}
