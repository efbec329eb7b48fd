//! The embedded status store: the `MessageLifecycle` role. A message's
//! life: created `pending`, read, its attempts noted, finished once.

use super::*;

#[async_trait]
impl MessageLifecycle for EmbeddedStore {
    async fn create(&self, message: &Message) -> Result<(), BackendError> {
        let message = message.clone();
        self.database
            .write(
                "recording a message in the embedded store",
                move |connection| insert(connection, &message),
            )
            .await
    }

    async fn get(&self, id: MessageId) -> Result<Option<Message>, BackendError> {
        self.database
            .read(
                "reading a message from the embedded store",
                move |connection| read(connection, &id.to_string()),
            )
            .await
    }

    async fn finish(&self, id: MessageId, outcome: &Outcome) -> Result<Transition, BackendError> {
        let outcome = outcome.clone();
        self.database
            .write(
                "finishing a message in the embedded store",
                move |connection| {
                    let id = id.to_string();
                    let event = outcome.event.as_ref().map(Event::to_json);
                    let changed = connection.execute(
                    &format!("UPDATE messages SET status = ?1, attempts = ?2, updated_at = ?3, error = ?4, {}
                     WHERE id = ?5 AND status = 'pending'", history_with(6)),
                    params![
                        Status::from(outcome.status).as_str(),
                        outcome.attempts,
                        time(outcome.at),
                        outcome.error,
                        id,
                        event,
                    ],
                )?;
                    after_update(connection, &id, changed)
                },
            )
            .await
    }

    async fn record_attempt(
        &self,
        id: MessageId,
        attempts: u32,
        error: &str,
        at: DateTime<Utc>,
        event: &Event,
    ) -> Result<Transition, BackendError> {
        let error = error.to_owned();
        let event = event.to_json();
        self.database
            .write(
                "recording an attempt in the embedded store",
                move |connection| {
                    let id = id.to_string();
                    let changed = connection.execute(
                        &format!(
                            "UPDATE messages SET attempts = ?1, updated_at = ?2, error = ?3, {}
                     WHERE id = ?4 AND status = 'pending' AND attempts < ?1",
                            history_with(5)
                        ),
                        params![attempts, time(at), error, id, event],
                    )?;
                    after_update(connection, &id, changed)
                },
            )
            .await
    }

    async fn note_started(&self, id: MessageId, event: &Event) -> Result<bool, BackendError> {
        let event = event.to_json();
        self.database
            .write(
                "noting a running job in the embedded store",
                move |connection| {
                    let changed = connection.execute(
                        &format!(
                            "UPDATE messages SET {} WHERE id = ?1 AND status = 'pending'",
                            history_with(2)
                        ),
                        params![id.to_string(), event],
                    )?;
                    Ok(changed == 1)
                },
            )
            .await
    }

    async fn create_batch(&self, messages: &[Message]) -> Result<(), BackendError> {
        let messages = messages.to_vec();
        self.database
            .write(
                "recording messages in the embedded store",
                move |connection| {
                    // All or nothing: the writer runs it in a savepoint of its own.
                    for message in &messages {
                        insert(connection, message)?;
                    }
                    Ok(())
                },
            )
            .await
    }

    async fn get_many(&self, ids: &[MessageId]) -> Result<Vec<Message>, BackendError> {
        let ids: Vec<String> = ids
            .iter()
            .take(messages::MAX_PAGE as usize)
            .map(MessageId::to_string)
            .collect();
        self.database
            .read(
                "reading messages from the embedded store",
                move |connection| {
                    let mut found = Vec::with_capacity(ids.len());
                    for id in &ids {
                        found.extend(read(connection, id)?);
                    }
                    Ok(found)
                },
            )
            .await
    }
}
