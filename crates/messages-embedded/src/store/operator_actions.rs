//! The embedded status store: the `OperatorActions` role. An operator's
//! retry and delete of a failed message.

use super::*;

#[async_trait]
impl OperatorActions for EmbeddedStore {
    async fn retry(
        &self,
        id: MessageId,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, BackendError> {
        self.database
            .write("retrying a message in the embedded store", move |connection| {
                let id = id.to_string();
                let changed = connection.execute(
                    &format!("UPDATE messages SET status = 'pending', retries = retries + 1, error = NULL, updated_at = ?1, {}
                     WHERE id = ?2 AND status = 'fail'", history_with(3)),
                    params![time(at), id, Event::Retried { at }.to_json()],
                )?;
                if changed == 1 { read(connection, &id) } else { Ok(None) }
            })
            .await
    }

    async fn delete_failed(&self, id: MessageId) -> Result<bool, BackendError> {
        self.database
            .write(
                "deleting a message from the embedded store",
                move |connection| {
                    let changed = connection.execute(
                        "DELETE FROM messages WHERE id = ?1 AND status = 'fail'",
                        params![id.to_string()],
                    )?;
                    Ok(changed == 1)
                },
            )
            .await
    }
}
