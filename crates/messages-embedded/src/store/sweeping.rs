//! The embedded status store: the `SweeperQueries` role. What the sweeper
//! finds stuck in `pending`, and its claims to enqueue again.

use super::*;

#[async_trait]
impl SweeperQueries for EmbeddedStore {
    async fn stale_pending(&self, query: StaleQuery) -> Result<Vec<Message>, BackendError> {
        let (comparison, bound) = match query.requeues {
            Requeues::Fewer(bound) => ("<", bound),
            Requeues::AtLeast(bound) => (">=", bound),
        };
        let created_before = MessageId::floor(query.idle_since).to_string();
        let idle_since = time(query.idle_since);
        let limit = query.limit.clamp(1, 1000);
        self.database
            .read(
                "listing stale pending messages in the embedded store",
                move |connection| {
                    // Times are written in one fixed RFC 3339 form (`time`), so
                    // they compare as text.
                    let mut statement = connection.prepare(&format!(
                        "SELECT {COLUMNS} FROM messages WHERE status = 'pending' AND id < ?1
                         AND updated_at < ?2 AND requeues {comparison} ?3
                         ORDER BY id LIMIT ?4"
                    ))?;
                    let rows = statement
                        .query_map(params![created_before, idle_since, bound, limit], from_row)?;
                    rows.collect()
                },
            )
            .await
    }

    async fn claim_requeue(
        &self,
        id: MessageId,
        seen: DateTime<Utc>,
        at: DateTime<Utc>,
        note: &str,
    ) -> Result<bool, BackendError> {
        let note = note.to_owned();
        self.database
            .write(
                "claiming a stuck message in the embedded store",
                move |connection| {
                    let changed = connection.execute(
                        &format!("UPDATE messages SET updated_at = ?1, error = ?2, requeues = requeues + 1, {}
                     WHERE id = ?3 AND status = 'pending' AND updated_at = ?4", history_with(5)),
                        params![time(at), note, id.to_string(), time(seen), Event::Requeued { at }.to_json()],
                    )?;
                    Ok(changed == 1)
                },
            )
            .await
    }
}
