extension CHeaders {
    // MARK: bpf_helpers.h

    static let helpers = #"""
/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPFKit's stand-in for libbpf's <bpf/bpf_helpers.h>: section and map-definition macros,
 * function attributes, bpf_printk and the helper declarations. */
#ifndef __BPF_HELPERS__
#define __BPF_HELPERS__

#include "bpf_helper_defs.h"

/* BTF-defined maps: each macro declares a member whose type encodes a number or a type. */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#define ___bpf_concat(a, b) a ## b
#define ___bpf_apply(fn, n) ___bpf_concat(fn, n)
#define __ulong(name, val) enum { ___bpf_apply(__bpfkit_unique_value, __COUNTER__) = val } name

/* Place a program or map in an ELF section; `used` keeps unreferenced maps. */
#define SEC(name) \
	_Pragma("GCC diagnostic push") \
	_Pragma("GCC diagnostic ignored \"-Wignored-attributes\"") \
	__attribute__((section(name), used)) \
	_Pragma("GCC diagnostic pop")

#undef __always_inline
#define __always_inline inline __attribute__((always_inline))
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif
#ifndef __hidden
#define __hidden __attribute__((visibility("hidden")))
#endif

/* Externs the loader resolves: Kconfig values and kernel symbols. */
#define __kconfig __attribute__((section(".kconfig")))
#define __ksym __attribute__((section(".ksyms")))
#define __weak_ksym __attribute__((section(".ksyms"), weak))
#define __kptr_untrusted __attribute__((btf_type_tag("kptr_untrusted")))
#define __kptr __attribute__((btf_type_tag("kptr")))
#define __percpu_kptr __attribute__((btf_type_tag("percpu_kptr")))
#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))
#define __arg_nonnull __attribute((btf_decl_tag("arg:nonnull")))

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif
#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((void *)(ptr) - offsetof(type, member)))
#endif

/* Compiler barriers. */
#ifndef barrier
#define barrier() asm volatile("" ::: "memory")
#endif
#define barrier_var(var) asm volatile("" : "+r"(var))

/* Code the verifier must never reach. */
#define __bpf_unreachable() __builtin_trap()

/* Map pinning (the `pinning` member of a BTF map). */
enum libbpf_pin_type {
	LIBBPF_PIN_NONE,
	LIBBPF_PIN_BY_NAME,
};

enum libbpf_tristate {
	TRI_NO = 0,
	TRI_YES = 1,
	TRI_MODULE = 2,
};

#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))

/* True if a weak __ksym resolved. */
#define bpf_ksym_exists(sym) (!!(&(sym)))

/* Tail call with a constant slot, so the verifier can see the target. */
static __always_inline void
bpf_tail_call_static(void *ctx, const void *map, const __u32 slot)
{
	if (!__builtin_constant_p(slot))
		__bpf_unreachable();
	asm volatile("r1 = %[ctx]\n\t"
		     "r2 = %[map]\n\t"
		     "r3 = %[slot]\n\t"
		     "call 12"
		     :: [ctx]"r"(ctx), [map]"r"(map), [slot]"i"(slot)
		     : "r0", "r1", "r2", "r3", "r4", "r5");
}

/* printf to the trace pipe; the format lives on the stack, up to three arguments. */
#define bpf_printk(fmt, args...) \
({ \
	char ____bpf_fmt[] = fmt; \
	bpf_trace_printk(____bpf_fmt, sizeof(____bpf_fmt), ##args); \
})

#endif /* __BPF_HELPERS__ */

"""#

    // MARK: bpf_endian.h

    static let endian = #"""
/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPFKit's stand-in for libbpf's <bpf/bpf_endian.h>: byte-order conversions that fold
 * constants at compile time (so they work in case labels) and use bswap otherwise. */
#ifndef __BPF_ENDIAN__
#define __BPF_ENDIAN__

#include <linux/types.h>

#define ___bpf_swap16(x) ((__u16)((((__u16)(x) & 0x00ffU) << 8) | (((__u16)(x) & 0xff00U) >> 8)))
#define ___bpf_swap32(x) ((__u32)( \
	(((__u32)(x) & 0x000000ffUL) << 24) | (((__u32)(x) & 0x0000ff00UL) << 8) | \
	(((__u32)(x) & 0x00ff0000UL) >> 8) | (((__u32)(x) & 0xff000000UL) >> 24)))
#define ___bpf_swap64(x) ((__u64)( \
	(((__u64)(x) & 0x00000000000000ffULL) << 56) | (((__u64)(x) & 0x000000000000ff00ULL) << 40) | \
	(((__u64)(x) & 0x0000000000ff0000ULL) << 24) | (((__u64)(x) & 0x00000000ff000000ULL) << 8) | \
	(((__u64)(x) & 0x000000ff00000000ULL) >> 8) | (((__u64)(x) & 0x0000ff0000000000ULL) >> 24) | \
	(((__u64)(x) & 0x00ff000000000000ULL) >> 40) | (((__u64)(x) & 0xff00000000000000ULL) >> 56)))

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
# define __bpf_ntohs(x) __builtin_bswap16(x)
# define __bpf_htons(x) __builtin_bswap16(x)
# define __bpf_constant_ntohs(x) ___bpf_swap16(x)
# define __bpf_constant_htons(x) ___bpf_swap16(x)
# define __bpf_ntohl(x) __builtin_bswap32(x)
# define __bpf_htonl(x) __builtin_bswap32(x)
# define __bpf_constant_ntohl(x) ___bpf_swap32(x)
# define __bpf_constant_htonl(x) ___bpf_swap32(x)
# define __bpf_be64_to_cpu(x) __builtin_bswap64(x)
# define __bpf_cpu_to_be64(x) __builtin_bswap64(x)
# define __bpf_constant_be64_to_cpu(x) ___bpf_swap64(x)
# define __bpf_constant_cpu_to_be64(x) ___bpf_swap64(x)
#elif __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
# define __bpf_ntohs(x) (x)
# define __bpf_htons(x) (x)
# define __bpf_constant_ntohs(x) (x)
# define __bpf_constant_htons(x) (x)
# define __bpf_ntohl(x) (x)
# define __bpf_htonl(x) (x)
# define __bpf_constant_ntohl(x) (x)
# define __bpf_constant_htonl(x) (x)
# define __bpf_be64_to_cpu(x) (x)
# define __bpf_cpu_to_be64(x) (x)
# define __bpf_constant_be64_to_cpu(x) (x)
# define __bpf_constant_cpu_to_be64(x) (x)
#else
# error "Unknown __BYTE_ORDER__"
#endif

#define bpf_htons(x) (__builtin_constant_p(x) ? __bpf_constant_htons(x) : __bpf_htons(x))
#define bpf_ntohs(x) (__builtin_constant_p(x) ? __bpf_constant_ntohs(x) : __bpf_ntohs(x))
#define bpf_htonl(x) (__builtin_constant_p(x) ? __bpf_constant_htonl(x) : __bpf_htonl(x))
#define bpf_ntohl(x) (__builtin_constant_p(x) ? __bpf_constant_ntohl(x) : __bpf_ntohl(x))
#define bpf_cpu_to_be64(x) (__builtin_constant_p(x) ? __bpf_constant_cpu_to_be64(x) : __bpf_cpu_to_be64(x))
#define bpf_be64_to_cpu(x) (__builtin_constant_p(x) ? __bpf_constant_be64_to_cpu(x) : __bpf_be64_to_cpu(x))

#endif /* __BPF_ENDIAN__ */

"""#

    // MARK: bpf_tracing.h

    static let tracing = #"""
/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPFKit's stand-in for libbpf's <bpf/bpf_tracing.h>, x86-64 only: register accessors
 * for struct pt_regs and the BPF_KPROBE / BPF_KRETPROBE / BPF_PROG wrappers. */
#ifndef __BPF_TRACING_H__
#define __BPF_TRACING_H__

#if defined(__TARGET_ARCH_arm64) || defined(__TARGET_ARCH_s390) || defined(__TARGET_ARCH_riscv) || \
    defined(__TARGET_ARCH_arm) || defined(__TARGET_ARCH_powerpc) || defined(__TARGET_ARCH_mips)
#error "BPFKit's bpf_tracing.h supports only x86-64 (__TARGET_ARCH_x86)"
#endif

#if defined(__VMLINUX_H__) || defined(__KERNEL__)
/* The kernel's struct pt_regs (vmlinux.h) names registers without the r prefix. */
#define __PT_PARM1_REG di
#define __PT_PARM2_REG si
#define __PT_PARM3_REG dx
#define __PT_PARM4_REG cx
#define __PT_PARM5_REG r8
#define __PT_PARM6_REG r9
#define __PT_RET_REG sp
#define __PT_FP_REG bp
#define __PT_RC_REG ax
#define __PT_SP_REG sp
#define __PT_IP_REG ip
#else
/* The UAPI struct pt_regs from <asm/ptrace.h>. */
#if __has_include(<asm/ptrace.h>)
#include <asm/ptrace.h>
#endif
#define __PT_PARM1_REG rdi
#define __PT_PARM2_REG rsi
#define __PT_PARM3_REG rdx
#define __PT_PARM4_REG rcx
#define __PT_PARM5_REG r8
#define __PT_PARM6_REG r9
#define __PT_RET_REG rsp
#define __PT_FP_REG rbp
#define __PT_RC_REG rax
#define __PT_SP_REG rsp
#define __PT_IP_REG rip
#endif

#define __PT_REGS_CAST(x) ((const struct pt_regs *)(x))
#define PT_REGS_PARM1(x) (__PT_REGS_CAST(x)->__PT_PARM1_REG)
#define PT_REGS_PARM2(x) (__PT_REGS_CAST(x)->__PT_PARM2_REG)
#define PT_REGS_PARM3(x) (__PT_REGS_CAST(x)->__PT_PARM3_REG)
#define PT_REGS_PARM4(x) (__PT_REGS_CAST(x)->__PT_PARM4_REG)
#define PT_REGS_PARM5(x) (__PT_REGS_CAST(x)->__PT_PARM5_REG)
#define PT_REGS_PARM6(x) (__PT_REGS_CAST(x)->__PT_PARM6_REG)
#define PT_REGS_RET(x) (__PT_REGS_CAST(x)->__PT_RET_REG)
#define PT_REGS_FP(x) (__PT_REGS_CAST(x)->__PT_FP_REG)
#define PT_REGS_RC(x) (__PT_REGS_CAST(x)->__PT_RC_REG)
#define PT_REGS_SP(x) (__PT_REGS_CAST(x)->__PT_SP_REG)
#define PT_REGS_IP(x) (__PT_REGS_CAST(x)->__PT_IP_REG)

#ifndef ___bpf_concat
#define ___bpf_concat(a, b) a ## b
#endif
#ifndef ___bpf_apply
#define ___bpf_apply(fn, n) ___bpf_concat(fn, n)
#endif
#define ___bpf_nth(_, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, N, ...) N
#define ___bpf_narg(...) ___bpf_nth(_, ##__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)

/* Argument lists that read each declared parameter from the registers. */
#define ___bpf_kprobe_args0() ctx
#define ___bpf_kprobe_args1(x) ___bpf_kprobe_args0(), (void *)PT_REGS_PARM1(ctx)
#define ___bpf_kprobe_args2(x, args...) ___bpf_kprobe_args1(args), (void *)PT_REGS_PARM2(ctx)
#define ___bpf_kprobe_args3(x, args...) ___bpf_kprobe_args2(args), (void *)PT_REGS_PARM3(ctx)
#define ___bpf_kprobe_args4(x, args...) ___bpf_kprobe_args3(args), (void *)PT_REGS_PARM4(ctx)
#define ___bpf_kprobe_args5(x, args...) ___bpf_kprobe_args4(args), (void *)PT_REGS_PARM5(ctx)
#define ___bpf_kprobe_args6(x, args...) ___bpf_kprobe_args5(args), (void *)PT_REGS_PARM6(ctx)
#define ___bpf_kprobe_args(args...) ___bpf_apply(___bpf_kprobe_args, ___bpf_narg(args))(args)

#define ___bpf_kretprobe_args0() ctx
#define ___bpf_kretprobe_args1(x) ___bpf_kretprobe_args0(), (void *)PT_REGS_RC(ctx)
#define ___bpf_kretprobe_args(args...) ___bpf_apply(___bpf_kretprobe_args, ___bpf_narg(args))(args)

#define ___bpf_ctx_cast0() ctx
#define ___bpf_ctx_cast1(x) ___bpf_ctx_cast0(), (void *)ctx[0]
#define ___bpf_ctx_cast2(x, args...) ___bpf_ctx_cast1(args), (void *)ctx[1]
#define ___bpf_ctx_cast3(x, args...) ___bpf_ctx_cast2(args), (void *)ctx[2]
#define ___bpf_ctx_cast4(x, args...) ___bpf_ctx_cast3(args), (void *)ctx[3]
#define ___bpf_ctx_cast5(x, args...) ___bpf_ctx_cast4(args), (void *)ctx[4]
#define ___bpf_ctx_cast6(x, args...) ___bpf_ctx_cast5(args), (void *)ctx[5]
#define ___bpf_ctx_cast7(x, args...) ___bpf_ctx_cast6(args), (void *)ctx[6]
#define ___bpf_ctx_cast8(x, args...) ___bpf_ctx_cast7(args), (void *)ctx[7]
#define ___bpf_ctx_cast9(x, args...) ___bpf_ctx_cast8(args), (void *)ctx[8]
#define ___bpf_ctx_cast10(x, args...) ___bpf_ctx_cast9(args), (void *)ctx[9]
#define ___bpf_ctx_cast11(x, args...) ___bpf_ctx_cast10(args), (void *)ctx[10]
#define ___bpf_ctx_cast12(x, args...) ___bpf_ctx_cast11(args), (void *)ctx[11]
#define ___bpf_ctx_cast(args...) ___bpf_apply(___bpf_ctx_cast, ___bpf_narg(args))(args)

/* Defines program `name` taking the context and an inner function receiving typed arguments;
 * the casts from registers rely on -Wint-conversion being silenced here. */
#define ___bpf_wrapper(name, ctx_type, call, args...) \
name(ctx_type ctx); \
static __always_inline typeof(name(0)) ____##name(ctx_type ctx, ##args); \
typeof(name(0)) name(ctx_type ctx) \
{ \
	_Pragma("GCC diagnostic push") \
	_Pragma("GCC diagnostic ignored \"-Wint-conversion\"") \
	return ____##name(call); \
	_Pragma("GCC diagnostic pop") \
} \
static __always_inline typeof(name(0)) ____##name(ctx_type ctx, ##args)

/* int BPF_KPROBE(do_unlinkat, int dfd, struct filename *name) { ... } */
#define BPF_KPROBE(name, args...) ___bpf_wrapper(name, struct pt_regs *, ___bpf_kprobe_args(args), ##args)
/* int BPF_KRETPROBE(do_unlinkat_exit, long ret) { ... } */
#define BPF_KRETPROBE(name, args...) ___bpf_wrapper(name, struct pt_regs *, ___bpf_kretprobe_args(args), ##args)
#define BPF_UPROBE(name, args...) BPF_KPROBE(name, ##args)
#define BPF_URETPROBE(name, args...) BPF_KRETPROBE(name, ##args)
/* fentry/fexit/tp_btf: arguments come from the u64 array in ctx. */
#define BPF_PROG(name, args...) ___bpf_wrapper(name, unsigned long long *, ___bpf_ctx_cast(args), ##args)

#endif /* __BPF_TRACING_H__ */

"""#
}
