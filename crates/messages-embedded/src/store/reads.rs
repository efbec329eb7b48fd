//! The embedded status store: the `DashboardReads` role. What the pages and
//! the dashboard read: lists, counts, the newest and the oldest waiting.

use super::*;

#[async_trait]
impl DashboardReads for EmbeddedStore {
    async fn list(&self, query: ListQuery) -> Result<Page, BackendError> {
        let limit = query.limit.clamp(1, messages::MAX_PAGE);
        self.database
            .read(
                "listing messages in the embedded store",
                move |connection| {
                    // Each shape walks an index (the primary key, status + id,
                    // or group + id) from the cursor downwards and stops after
                    // one page; with both a status and a group, the group's.
                    let status = query.status.map(Status::as_str);
                    let cursor = query.cursor.map(|id| id.to_string());
                    let group = query.group.as_ref().map(|group| group.as_str().to_owned());
                    // A filter left out still names its parameter (as NULL),
                    // so every statement takes the same four; one given is an
                    // equality the planner can walk an index by.
                    let by_status = if status.is_some() {
                        "status = ?1"
                    } else {
                        "?1 IS NULL"
                    };
                    let by_group = if group.is_some() {
                        "message_group = ?4"
                    } else {
                        "?4 IS NULL"
                    };
                    let sql = format!(
                        "SELECT {COLUMNS} FROM messages
                         WHERE {by_status} AND {by_group} AND (?2 IS NULL OR id < ?2)
                         ORDER BY id DESC LIMIT ?3"
                    );
                    let mut statement = connection.prepare(&sql)?;
                    let rows = statement
                        .query_map(params![status, cursor, limit + 1, group], from_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Ok(Page::from_rows(rows, limit))
                },
            )
            .await
    }

    async fn newer_than(&self, after: MessageId, limit: u32) -> Result<Vec<Message>, BackendError> {
        self.database
            .read(
                "listing new messages in the embedded store",
                move |connection| {
                    let mut statement = connection.prepare(&format!(
                        "SELECT {COLUMNS} FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2"
                    ))?;
                    let rows = statement.query_map(
                        params![after.to_string(), limit.clamp(1, messages::MAX_PAGE)],
                        from_row,
                    )?;
                    rows.collect()
                },
            )
            .await
    }

    /// One row of `status_counts`, which triggers keep (`database.rs`).
    async fn count(&self, status: Status) -> Result<u64, BackendError> {
        self.database
            .read(
                "counting messages in the embedded store",
                move |connection| {
                    connection
                        .query_row(
                            "SELECT count FROM status_counts WHERE status = ?1",
                            params![status.as_str()],
                            |row| row.get::<_, i64>(0),
                        )
                        .optional()
                },
            )
            .await
            // No row: no message has ever had the status.
            .map(|count| u64::try_from(count.unwrap_or(0)).unwrap_or(0))
    }

    /// The first entry of `messages_by_status` for `pending`.
    async fn oldest_pending(&self) -> Result<Option<MessageId>, BackendError> {
        let id = self
            .database
            .read("finding the oldest pending message", |connection| {
                connection
                    .query_row(
                        "SELECT id FROM messages WHERE status = 'pending' ORDER BY id LIMIT 1",
                        [],
                        |row| row.get::<_, String>(0),
                    )
                    .optional()
            })
            .await?;
        id.map(|id| {
            MessageId::parse(&id).map_err(|error| {
                BackendError::new("reading the oldest pending message's id", error)
            })
        })
        .transpose()
    }
}
