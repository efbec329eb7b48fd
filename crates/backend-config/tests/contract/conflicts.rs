//! DynamoDB's transaction conflicts: a create or a finish, which writes the
//! message with its status counters in one `TransactWriteItems`, cancelled
//! because another transaction wrote one of its items at the same moment.
//! DynamoDB then applies nothing of it ("TransactWriteItems": a
//! `TransactionCanceledException` whose reasons include
//! `TransactionConflict`), and the store tries it again. moto never
//! conflicts, so a proxy in front of it answers chosen transactions as
//! DynamoDB would (`testkit::conflicts`). The embedded backend has no such
//! failure: its writes take SQLite's lock in turn.

use super::*;
use testkit::conflicts::ConflictProxy;
use testkit::moto;

/// A store on fresh resources of moto, reached through a conflict proxy.
async fn behind_a_proxy() -> (ConflictProxy, messages::Backends, moto::Fresh) {
    let fresh = moto::fresh(10).await;
    let proxy = ConflictProxy::start(moto::endpoint()).await;
    let sdk = moto::sdk_config_at(&proxy.endpoint).await;
    let backends = messages_aws::backends(&sdk, &fresh.queue_url, &fresh.table);
    (proxy, backends, fresh)
}

#[tokio::test]
async fn a_create_and_a_finish_cancelled_by_conflicts_are_tried_again_and_counted_once() {
    let (proxy, backends, _fresh) = behind_a_proxy().await;
    let store = &backends.store;
    let message = message("conflicted");
    proxy.cancel_next(3);
    store
        .create(&message)
        .await
        .expect("created after three conflicts");
    assert_eq!(proxy.cancelled(), 3, "each conflict reached the store");
    assert_eq!(
        store.get(message.id).await.expect("get"),
        Some(message.clone())
    );
    assert_eq!(store.count(Status::Pending).await.expect("count"), 1);

    proxy.cancel_next(3);
    let finished = store
        .finish(message.id, &outcome(FinalStatus::Complete, 1, None))
        .await
        .expect("finished after three conflicts");
    assert!(matches!(finished, Transition::Applied(_)), "{finished:?}");
    assert_eq!(proxy.cancelled(), 6);
    assert_eq!(store.count(Status::Pending).await.expect("count"), 0);
    assert_eq!(store.count(Status::Complete).await.expect("count"), 1);
}

#[tokio::test]
async fn conflicts_past_the_retries_are_an_error_and_change_nothing() {
    let (proxy, backends, _fresh) = behind_a_proxy().await;
    let store = &backends.store;
    let message = message("never written");
    proxy.cancel_next(u32::MAX);
    let error = store
        .create(&message)
        .await
        .expect_err("a store that always conflicts gives up");
    assert!(
        error.chain().contains("TransactWriteItems"),
        "the error names the call: {}",
        error.chain()
    );
    let tries = proxy.cancelled();
    assert!(
        (2..=10).contains(&tries),
        "tried again a bounded number of times: {tries}"
    );
    proxy.cancel_next(0);
    assert_eq!(store.get(message.id).await.expect("get"), None);
    assert_eq!(store.count(Status::Pending).await.expect("count"), 0);
}
