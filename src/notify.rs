//! systemd readiness notification (`Type=notify`): when `NOTIFY_SOCKET` is
//! set, send `READY=1` once listening and `STOPPING=1` on shutdown.

use std::os::unix::net::UnixDatagram;

/// Sends one state line to the service manager, if there is one.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return };
    let Ok(socket) = UnixDatagram::unbound() else { return };
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|addr| socket.send_to_addr(state.as_bytes(), &addr))
    } else {
        socket.send_to(state.as_bytes(), &path)
    };
    if let Err(e) = sent {
        log::warn!(target: "server.notify_failed", "{e}");
    }
}
