//! Waking a receive in another process the moment a message is sent. Each
//! queue binds a Unix datagram socket in `DATA_DIR/wake/`; a send pokes every
//! other socket there, and the poke wakes that queue's waiting receives, as a
//! send in the same process does through its `Notify`. Without it, a receive
//! in another process would see a send only at its next look.
//!
//! Best effort by design: a poke that cannot be delivered costs nothing but
//! the delay until that receive's next look, so every failure here is ignored
//! (or logged once at start), never returned. A queue removes its socket when
//! it goes; one left by a process that was killed is removed by the first
//! round of pokes that finds nobody listening on it. The pokes are sent from
//! a thread of their own, without blocking, so a send never waits for them.

#[cfg(unix)]
pub use unix::Wake;

/// Where there are no Unix sockets, no wake-up: receives see other
/// processes' sends at their next look.
#[cfg(not(unix))]
#[derive(Debug)]
pub struct Wake;

#[cfg(not(unix))]
impl Wake {
    /// Never binds.
    pub fn bind(
        _data_dir: &std::path::Path,
        _notify: &std::sync::Arc<tokio::sync::Notify>,
    ) -> Option<std::sync::Arc<Self>> {
        None
    }

    /// Nothing to poke.
    pub fn poke_others(&self) {}
}

#[cfg(unix)]
mod unix {
    use std::os::unix::net::UnixDatagram;
    use std::path::{Path, PathBuf};
    use std::sync::mpsc::SyncSender;
    use std::sync::{Arc, Weak};
    use std::time::Duration;

    use tokio::sync::Notify;

    /// The folder of sockets, under `DATA_DIR`.
    const WAKE_DIR: &str = "wake";
    /// The longest socket path Linux accepts (`sun_path` holds 108 bytes, NUL included).
    const MAX_SOCKET_PATH: usize = 107;
    /// How often the listening thread checks whether its queue is gone.
    const LISTEN_CHECK: Duration = Duration::from_secs(1);

    /// One queue's socket: it is poked by the others' sends, and pokes them.
    #[derive(Debug)]
    pub struct Wake {
        /// Asks the poking thread for a round of pokes. One pending request
        /// covers any number of sends: the round runs after each of them.
        pokes: SyncSender<()>,
        /// This queue's socket file, removed when the queue goes.
        own: PathBuf,
    }

    impl Drop for Wake {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.own);
        }
    }

    impl Wake {
        /// Binds this queue's socket under `data_dir`, and listens on it in a
        /// thread of its own that wakes `notify` on each poke, until `notify`
        /// is dropped. `None` where that cannot be done (a path too long for a
        /// socket, a folder that refuses one): receives then see other
        /// processes' sends at their next look.
        pub fn bind(data_dir: &Path, notify: &Arc<Notify>) -> Option<Arc<Self>> {
            let folder = data_dir.join(WAKE_DIR);
            // Unique across processes, PID reuse and PID namespaces (two
            // containers on one DATA_DIR can both be PID 1).
            let own = folder.join(format!(
                "{}-{}.sock",
                std::process::id(),
                uuid::Uuid::now_v7().simple()
            ));
            if own.as_os_str().len() > MAX_SOCKET_PATH {
                tracing::info!(path = %own.display(), "DATA_DIR is too deep for a wake-up socket; other processes' sends are seen at the next look");
                return None;
            }
            let bound = crate::private::create_dir(&folder)
                .and_then(|()| UnixDatagram::bind(&own))
                .and_then(|listener| {
                    listener.set_read_timeout(Some(LISTEN_CHECK))?;
                    let sender = UnixDatagram::unbound()?;
                    // A peer that is alive but not reading (a stopped
                    // process) must not block the pokes to everyone else: its
                    // queue is full of pokes already, so dropping one is fine.
                    sender.set_nonblocking(true)?;
                    Ok((listener, sender))
                });
            let (listener, sender) = match bound {
                Ok(sockets) => sockets,
                Err(error) => {
                    tracing::info!(%error, "no wake-up socket; other processes' sends are seen at the next look");
                    return None;
                }
            };
            let weak = Arc::downgrade(notify);
            let listened = own.clone();
            let listening = std::thread::Builder::new()
                .name("embedded-queue-wake".to_owned())
                .spawn(move || listen(&listener, &weak, &listened));
            if listening.is_err() {
                let _ = std::fs::remove_file(&own);
                return None;
            }
            let (pokes, requests) = std::sync::mpsc::sync_channel(1);
            let poker_own = own.clone();
            let poking = std::thread::Builder::new()
                .name("embedded-queue-poke".to_owned())
                .spawn(move || {
                    // Ends when the queue, and with it `pokes`, is dropped.
                    while requests.recv().is_ok() {
                        poke_all(&folder, &poker_own, &sender);
                    }
                });
            // Without the poking thread this queue is still woken by others.
            poking.is_ok().then(|| Arc::new(Self { pokes, own }))
        }

        /// Has every other queue's socket poked, on the poking thread: the
        /// send that calls this only queues a request, and never waits.
        pub fn poke_others(&self) {
            // Full: a round is already pending, and it runs after this call.
            let _ = self.pokes.try_send(());
        }
    }

    /// One datagram to every socket in `folder` but `own`.
    fn poke_all(folder: &Path, own: &Path, sender: &UnixDatagram) {
        let Ok(entries) = std::fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path == own || path.extension().is_none_or(|extension| extension != "sock") {
                continue;
            }
            if let Err(error) = sender.send_to(&[1], &path) {
                // Nobody listens there any more: its process died unclean.
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
                ) {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }

    /// Wakes `notify` on every poke; stops, removing the socket, once
    /// `notify` is gone (its queue was dropped).
    fn listen(listener: &UnixDatagram, notify: &Weak<Notify>, path: &Path) {
        let mut buffer = [0_u8; 8];
        loop {
            let poked = listener.recv(&mut buffer).is_ok();
            let Some(notify) = notify.upgrade() else {
                break;
            };
            if poked {
                notify.notify_waiters();
            }
        }
        let _ = std::fs::remove_file(path);
    }
}
