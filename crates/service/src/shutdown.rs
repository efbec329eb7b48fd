//! The shutdown signal: Ctrl-C at a terminal, SIGTERM from Elastic Beanstalk,
//! Docker or systemd when they stop the process, and a way to hand one
//! shutdown to several tasks.

/// Completes when the process is asked to stop.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

/// A shutdown that several tasks can wait for (the server and the poller):
/// cloneable, and complete for every clone once the source future completes.
#[derive(Debug, Clone)]
pub struct Shutdown(tokio::sync::watch::Receiver<bool>);

impl Shutdown {
    /// Fires when `source` completes (for example [`signal`]).
    pub fn on(source: impl Future<Output = ()> + Send + 'static) -> Self {
        let (sender, receiver) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            source.await;
            // No receiver left means nobody is waiting any more: nothing to do.
            let _ignored = sender.send(true);
        });
        Self(receiver)
    }

    /// Completes once shutdown has begun.
    pub async fn wait(mut self) {
        if self.0.wait_for(|begun| *begun).await.is_err() {
            // The sender is gone without firing (the runtime is stopping):
            // never report a shutdown that was not asked for.
            std::future::pending::<()>().await;
        }
    }
}
