#!/usr/bin/env python3
"""Generates Sources/BPFABI/HelperTable+Generated.swift from Linux's UAPI <linux/bpf.h>.

Usage: Scripts/generate-helper-table.py [path/to/linux/bpf.h] > Sources/BPFABI/HelperTable+Generated.swift

The header's helper mapper (`___BPF_FUNC_MAPPER(FN, ctx...)` in Linux 6.2 and later
headers, `__BPF_FUNC_MAPPER(FN)` numbered by position before) gives IDs and names; the helper documentation
comment gives each helper's C signature. Argument and return kinds are derived from the
signature by the rules below; Sources/BPFABI/HelperTable+Overrides.swift corrects the
helpers whose kernel prototype (`struct bpf_func_proto`) differs from what the rules give.

Helpers newer than the given header (Linux 6.18 defines IDs 1...211) are taken from
LATER_HELPERS, whose signatures are copied from the Linux 6.18 documentation comment.
"""
import re
import sys

# Helpers added after older UAPI headers; signatures from Linux 6.18's bpf.h.
LATER_HELPERS = [
    (210, "cgrp_storage_get", "void *bpf_cgrp_storage_get(struct bpf_map *map, struct cgroup *cgroup, void *value, u64 flags)"),
    (211, "cgrp_storage_delete", "long bpf_cgrp_storage_delete(struct bpf_map *map, struct cgroup *cgroup)"),
]

CONTEXT_TYPES = {
    "struct sk_buff *", "const struct sk_buff *", "struct __sk_buff *", "struct xdp_buff *",
    "struct xdp_md *", "struct sk_msg_buff *", "struct bpf_sock_ops *", "struct bpf_sock_addr *",
    "struct bpf_sysctl *", "struct sk_reuseport_md *", "struct bpf_sk_lookup *",
    "struct bpf_perf_event_data *", "struct pt_regs *",
}
SIZE_NAME = re.compile(r"^(size|len|sz|plen|.*_size|.*_len|.*_sz|size_of_buf)$")
# Untyped (`void *`) parameters whose name says what they are.
MAP_NAMES = {"map", "ringbuf", "prog_array_map"}
CONTEXT_NAMES = {"ctx", "skb", "bpf_socket", "skops", "xdp_md", "msg", "reuse"}
SOCKET_NAMES = {"sk", "sock"}
KERNEL_OBJECT_NAMES = {"tp", "inode", "percpu_ptr", "task", "file", "cgroup"}
INTEGER_TYPES = re.compile(r"^(const )?(u8|u16|u32|u64|s8|s16|s32|s64|int|long|unsigned long|size_t|__be16|__be32|__wsum)$")


def read_helpers(path):
    text = open(path).read()
    new_style = re.search(r"#define ___BPF_FUNC_MAPPER\(FN, ctx\.\.\.\)(.*?)/\* \*/", text, re.S)
    ids = []
    if new_style:
        for name, number in re.findall(r"FN\((\w+),\s*(\d+),", new_style.group(1)):
            ids.append((int(number), name))
    else:
        old_style = re.search(r"#define __BPF_FUNC_MAPPER\(FN\)(.*?)/\* \*/", text, re.S)
        if not old_style:
            sys.exit("no helper mapper found in " + path)
        for number, name in enumerate(re.findall(r"FN\((\w+)\)", old_style.group(1))):
            ids.append((number, name))
    ids = [(number, name) for number, name in ids if name != "unspec"]
    signatures = {}
    for line in text.splitlines():
        match = re.match(r"^ \* (\S.*?\bbpf_(\w+)\((.*)\))\s*$", line)
        if match and match.group(2) not in signatures:
            signatures[match.group(2)] = match.group(1)
    helpers = []
    for number, name in ids:
        if name not in signatures:
            sys.exit("no documented signature for helper " + name)
        helpers.append((number, name, signatures[name]))
    known = {number for number, _, _ in helpers}
    for number, name, signature in LATER_HELPERS:
        if number not in known:
            helpers.append((number, name, signature))
    return helpers


def split_declaration(declaration):
    """`const void *key` -> ("const void *", "key"); `u64 flags` -> ("u64", "flags")."""
    declaration = declaration.strip()
    if declaration in ("...", "void"):
        return declaration, ""
    match = re.match(r"^(.*?)(\w+)$", declaration)
    ctype = match.group(1).strip()
    ctype = re.sub(r"\s*\*", " *", ctype).replace("* *", "**")
    return ctype, match.group(2)


def parse_signature(signature):
    match = re.match(r"^(.*?)\bbpf_(\w+)\((.*)\)$", signature)
    return_type = re.sub(r"\s*\*", " *", match.group(1).strip())
    parameters = [split_declaration(part) for part in match.group(3).split(",")]
    if parameters == [("void", "")]:
        parameters = []
    return return_type, parameters


def argument_kinds(parameters):
    kinds = []
    seen_map = False
    for index, (ctype, name) in enumerate(parameters):
        if ctype == "...":
            while len(kinds) < 5:
                kinds.append(".anything")
            break
        following = parameters[index + 1] if index + 1 < len(parameters) else None
        followed_by_size = (following is not None and INTEGER_TYPES.match(following[0])
                            and SIZE_NAME.match(following[1]))
        is_pointer = ctype.endswith("*")
        if ctype == "struct bpf_map *" or (ctype == "void *" and name in MAP_NAMES):
            kinds.append(".constMapPointer")
            seen_map = True
        elif is_pointer and seen_map and name == "key":
            kinds.append(".mapKey")
        elif is_pointer and seen_map and name == "value" and not followed_by_size:
            kinds.append(".mapValue")
        elif name in CONTEXT_NAMES or ctype in CONTEXT_TYPES:
            kinds.append(".context")
        elif is_pointer and ("callback" in name or name.endswith("_fn")) and name != "callback_ctx":
            kinds.append(".callback")
        elif name == "callback_ctx":
            kinds.append(".stackOrNull")
        elif ctype == "struct bpf_spin_lock *":
            kinds.append(".spinLock")
        elif ctype == "struct bpf_timer *":
            kinds.append(".timer")
        elif ctype == "struct bpf_dynptr *":
            kinds.append(".dynptr")
        elif is_pointer and name in SOCKET_NAMES:
            kinds.append(".socket")
        elif is_pointer and name in KERNEL_OBJECT_NAMES:
            kinds.append(".btfPointer")
        elif is_pointer and ("unsafe" in name or "user_ptr" in name):
            kinds.append(".anything")
        elif is_pointer and followed_by_size:
            if ctype.startswith("const ") or name in ("data", "from", "tuple", "hdr", "params", "key_data"):
                kinds.append(".readableMemory")
            elif name in ("dst", "buf", "to", "res", "dst_buf", "opt"):
                kinds.append(".uninitializedMemory")
            else:
                kinds.append(".writableMemory")
        elif ctype == "const char *":
            kinds.append(".constString")
        elif ctype in ("long *", "u64 *", "unsigned long *"):
            kinds.append(".longResult")
        elif ctype in ("int *", "u32 *"):
            kinds.append(".intResult")
        elif ctype in ("struct bpf_sock *", "struct sock *"):
            kinds.append(".socket")
        elif ctype.startswith("struct ") or ctype.startswith("const struct "):
            kinds.append(".btfPointer")
        elif is_pointer:
            kinds.append(".writableMemory")
        else:
            kinds.append(".anything")
    # Second pass: turn each size that follows a memory argument into a size of it.
    result = []
    for index, kind in enumerate(kinds):
        if index > 0 and index < len(parameters) and kinds[index - 1] in (".readableMemory", ".writableMemory", ".uninitializedMemory") \
                and SIZE_NAME.match(parameters[index][1]) and INTEGER_TYPES.match(parameters[index][0]):
            result.append(".constSize(of: %d)" % (index - 1))
        else:
            result.append(kind)
    return result


def return_kind(return_type):
    if return_type == "void":
        return ".void"
    if return_type in ("struct bpf_sock *", "struct bpf_tcp_sock *"):
        return ".socketOrNull"
    if return_type.startswith("struct "):
        return ".btfPointerOrNull"
    if return_type == "void *":
        return ".memoryOrNull"
    return ".integer"


def swift_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "/usr/include/linux/bpf.h"
    helpers = sorted(read_helpers(path))
    out = []
    out.append("// Generated by Scripts/generate-helper-table.py from <linux/bpf.h>. Do not edit by hand:")
    out.append("// corrections belong in HelperTable+Overrides.swift.")
    out.append("")
    out.append("extension HelperTable {")
    out.append("    /// Every helper with its documented C signature and the kinds the signature rules give.")
    out.append("    static let generated: [HelperPrototype] = [")
    for number, name, signature in helpers:
        return_type, parameters = parse_signature(signature)
        variadic = any(ctype == "..." for ctype, _ in parameters)
        parameters = [(ctype, pname) for ctype, pname in parameters if ctype != "..."]
        params = ", ".join("HelperParameter(type: %s, name: %s)" % (swift_string(c), swift_string(n)) for c, n in parameters)
        kinds = ", ".join(argument_kinds(parameters + ([("...", "")] if variadic else [])))
        out.append("        HelperPrototype(")
        out.append("            id: %d, name: %s, returnType: %s," % (number, swift_string(name), swift_string(return_type)))
        out.append("            parameters: [%s]," % params)
        if variadic:
            out.append("            isVariadic: true,")
        out.append("            arguments: [%s], returnKind: %s" % (kinds, return_kind(return_type)))
        out.append("        ),")
    out.append("    ]")
    out.append("}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
