//! The `OperatorActions` role: retry and delete act on a failed message
//! only.

use super::*;

/// An operator acts on a failed message only: a retry moves it back to
/// `pending` with its attempts kept and the retry counted, once; a delete
/// removes it. Neither touches a message in another state.
async fn an_operator_retry_or_delete_acts_on_a_failed_message_only(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let failing = message("failing");
    let done = message("done");
    for message in [&failing, &done] {
        store.create(message).await.expect("create");
    }
    let at = messages::now();
    assert_eq!(
        store.retry(failing.id, at).await.expect("retry"),
        None,
        "pending"
    );
    assert!(
        !store.delete_failed(failing.id).await.expect("delete"),
        "pending"
    );
    store
        .finish(done.id, &outcome(FinalStatus::Complete, 1, None))
        .await
        .expect("finish");
    assert_eq!(
        store.retry(done.id, at).await.expect("retry"),
        None,
        "complete"
    );
    assert!(
        !store.delete_failed(done.id).await.expect("delete"),
        "complete"
    );

    for round in 1..=2 {
        store
            .finish(
                failing.id,
                &outcome(FinalStatus::Fail, 3 * round, Some("boom")),
            )
            .await
            .expect("finish");
        let retried = store
            .retry(failing.id, at)
            .await
            .expect("retry")
            .expect("a failed message is retried");
        assert_eq!(
            (
                retried.status,
                retried.attempts,
                retried.retries,
                retried.error.as_deref()
            ),
            (Status::Pending, 3 * round, round, None)
        );
        assert_eq!(retried.updated_at, at);
        assert_eq!(store.get(failing.id).await.expect("get"), Some(retried));
        assert_eq!(
            store.retry(failing.id, at).await.expect("retry"),
            None,
            "once"
        );
    }
    let listed = |status| ListQuery {
        status: Some(status),
        group: None,
        limit: 10,
        cursor: None,
    };
    let ids = |page: messages::Page| {
        page.items
            .into_iter()
            .map(|message| message.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.list(listed(Status::Pending)).await.expect("list")),
        vec![failing.id]
    );
    assert!(ids(store.list(listed(Status::Fail)).await.expect("list")).is_empty());

    store
        .finish(failing.id, &outcome(FinalStatus::Fail, 7, Some("again")))
        .await
        .expect("finish");
    assert!(store.delete_failed(failing.id).await.expect("delete"));
    assert_eq!(store.get(failing.id).await.expect("get"), None);
    assert!(
        !store.delete_failed(failing.id).await.expect("delete"),
        "gone"
    );
    assert_eq!(
        store.retry(failing.id, at).await.expect("retry"),
        None,
        "gone"
    );
    assert_eq!(store.count(Status::Fail).await.expect("count"), 0);
}

on_both_backends!(an_operator_retry_or_delete_acts_on_a_failed_message_only,);
