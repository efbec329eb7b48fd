//! The `SweeperQueries` role: what the sweeper finds.

use super::*;

async fn the_sweepers_query_finds_only_stale_pending_messages_in_its_requeue_bound(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let now = messages::now();
    // Created `age` minutes ago, last active `idle` minutes ago, re-enqueued `requeues` times.
    let make = |age: i64, idle: i64, requeues: u32| {
        let created = now - chrono::Duration::minutes(age);
        Message {
            id: messages::MessageId::created_at(created),
            created_at: created,
            updated_at: now - chrono::Duration::minutes(idle),
            requeues,
            ..message("stale?")
        }
    };
    let oldest = make(60, 30, 0);
    let old = make(50, 20, 1);
    let recently_active = make(40, 1, 0);
    let recent = make(2, 2, 0);
    let exhausted = make(30, 30, 3);
    let finished = make(45, 30, 0);
    for message in [
        &oldest,
        &old,
        &recently_active,
        &recent,
        &exhausted,
        &finished,
    ] {
        store.create(message).await.expect("create");
    }
    store
        .finish(finished.id, &outcome(FinalStatus::Complete, 1, None))
        .await
        .expect("finish");
    // A periodic task's claim lives in the same table: never a message.
    assert!(
        store
            .claim_scheduled_run("sweep", now)
            .await
            .expect("claim")
    );
    let query = |requeues, limit| StaleQuery {
        idle_since: now - chrono::Duration::minutes(10),
        requeues,
        limit,
    };
    let ids = |found: Vec<Message>| {
        found
            .into_iter()
            .map(|message| message.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store
            .stale_pending(query(Requeues::Fewer(3), 10))
            .await
            .expect("query")),
        vec![oldest.id, old.id],
        "stale, pending, fewer than 3 re-enqueues, oldest first"
    );
    assert_eq!(
        ids(store
            .stale_pending(query(Requeues::Fewer(3), 1))
            .await
            .expect("query")),
        vec![oldest.id],
        "at most the limit"
    );
    assert_eq!(
        ids(store
            .stale_pending(query(Requeues::AtLeast(3), 10))
            .await
            .expect("query")),
        vec![exhausted.id]
    );
}

on_both_backends!(the_sweepers_query_finds_only_stale_pending_messages_in_its_requeue_bound,);
