//! The embedded status store: the `RunClaims` role. Periodic runs claimed
//! once, for the scheduler.

use super::*;

#[async_trait]
impl RunClaims for EmbeddedStore {
    async fn claim_scheduled_run(
        &self,
        task: &str,
        scheduled_at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        let task = task.to_owned();
        let at = scheduled_at.timestamp_millis();
        self.database
            .write(
                "claiming a periodic task's run in the embedded store",
                move |connection| {
                    // One statement, so two processes cannot both win: SQLite
                    // runs it under its write lock.
                    let changed = connection.execute(
                        "INSERT INTO scheduled_runs (task, scheduled_at_ms) VALUES (?1, ?2)
                         ON CONFLICT (task) DO UPDATE SET scheduled_at_ms = excluded.scheduled_at_ms
                         WHERE excluded.scheduled_at_ms > scheduled_runs.scheduled_at_ms",
                        params![task, at],
                    )?;
                    Ok(changed == 1)
                },
            )
            .await
    }
}
