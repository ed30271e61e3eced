import BPFRuntime

/// The socket helpers in user space, which has no kernel sockets: lookups find
/// nothing and return NULL (as Linux does when no socket matches), so no socket
/// pointer, and no reference, ever exists at run time. The helpers that take a
/// socket (release, full socket, tcp_sock, listener) can then only be reached on
/// paths the verifier proved need a non-NULL socket, which never run; they return
/// NULL (or 0) all the same rather than fault.
enum SocketHelpers {
    static let names = ["sk_lookup_tcp", "sk_lookup_udp", "skc_lookup_tcp", "sk_release", "sk_fullsock", "tcp_sock",
                        "get_listener_sock"]

    static func bodies() -> [(Int32, Helper.Body)] {
        names.map { name in (LinuxHelper.id(name), { _, _ throws(HelperError) in 0 }) }
    }
}
