//! The `RunClaims` role: a periodic run claimed once.

use super::*;

async fn a_periodic_run_is_claimed_once_and_never_an_earlier_one(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let run = |minute: u32| {
        chrono::DateTime::parse_from_rfc3339(&format!("2026-12-01T08:{minute:02}:00Z"))
            .expect("valid")
            .with_timezone(&chrono::Utc)
    };
    let claim = |task: &'static str, minute: u32| async move {
        store
            .claim_scheduled_run(task, run(minute))
            .await
            .expect("claim")
    };
    assert!(claim("sweep", 5).await, "the first claim of a run wins");
    assert!(!claim("sweep", 5).await, "the same run again loses");
    assert!(
        !claim("sweep", 0).await,
        "an earlier run, reached late, loses"
    );
    assert!(claim("other", 5).await, "each task is claimed on its own");
    assert!(claim("sweep", 10).await, "the next run wins");
    // Runs are no messages: lists and counts do not see them.
    assert_eq!(store.count(Status::Pending).await.expect("count"), 0);
    let everything = ListQuery {
        status: None,
        group: None,
        limit: 10,
        cursor: None,
    };
    assert!(store.list(everything).await.expect("list").items.is_empty());
}

on_both_backends!(a_periodic_run_is_claimed_once_and_never_an_earlier_one,);
