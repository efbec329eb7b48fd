//! The `SessionStore` port: the operator's sessions.

use super::*;

/// A key no other test uses: two UUIDs' hex, as long as a SHA-256 digest.
fn session_key() -> SessionKey {
    let hex = format!("{}{}", MessageId::new(), MessageId::new()).replace('-', "");
    SessionKey::parse(&hex).expect("64 hex characters")
}

/// A moment `minutes` after a fixed start.
fn at(minutes: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
        .expect("valid")
        .with_timezone(&chrono::Utc)
        + chrono::TimeDelta::minutes(minutes)
}

/// A session started at minute 0 that ends at `ends` and idles out at `idle`.
fn session(key: &SessionKey, ends: i64, idle: i64) -> NewSession {
    NewSession {
        key: key.clone(),
        credential: CREDENTIAL.to_owned(),
        started_at: at(0),
        ends_at: at(ends),
        idle_until: at(idle),
    }
}

async fn a_session_is_found_until_it_is_ended(kind: Kind) {
    let backend = kind.make(10).await;
    let sessions = &backend.backends.sessions;
    let key = session_key();
    let other = session_key();
    sessions
        .start(&session(&key, 720, 30))
        .await
        .expect("start");
    sessions
        .start(&session(&other, 720, 30))
        .await
        .expect("start");
    let touch = |key: SessionKey, minute: i64| async move {
        sessions
            .touch(&key, CREDENTIAL, at(minute), at(minute + 30))
            .await
            .expect("touch")
    };
    assert!(touch(key.clone(), 1).await, "a live session is found");
    assert!(touch(key.clone(), 2).await, "and again");
    assert!(!touch(session_key(), 2).await, "an unknown one is refused");
    sessions.end(&key).await.expect("end");
    assert!(!touch(key.clone(), 3).await, "an ended one is refused");
    assert!(
        touch(other.clone(), 3).await,
        "ending one leaves the others"
    );
    sessions
        .end(&key)
        .await
        .expect("ending an ended session is no error");
    sessions
        .end(&session_key())
        .await
        .expect("nor is ending an unknown one");
    // Sessions are no messages: lists and counts do not see them.
    let store = &backend.backends.store;
    assert_eq!(store.count(Status::Pending).await.expect("count"), 0);
    let everything = ListQuery {
        status: None,
        group: None,
        limit: 10,
        cursor: None,
    };
    assert!(store.list(everything).await.expect("list").items.is_empty());
}

async fn a_session_idles_out_unless_used_and_ends_however_used(kind: Kind) {
    let backend = kind.make(10).await;
    let sessions = &backend.backends.sessions;
    let touch = |key: SessionKey, minute: i64| async move {
        sessions
            .touch(&key, CREDENTIAL, at(minute), at(minute + 30))
            .await
            .expect("touch")
    };

    // Idle for 30 minutes: each use moves the idle expiry on.
    let idle = session_key();
    sessions
        .start(&session(&idle, 720, 30))
        .await
        .expect("start");
    assert!(touch(idle.clone(), 29).await, "used before its idle expiry");
    assert!(
        touch(idle.clone(), 58).await,
        "the use at minute 29 kept it until minute 59"
    );
    assert!(
        !touch(idle.clone(), 88).await,
        "30 minutes unused (58 to 88): refused"
    );
    assert!(
        !touch(idle.clone(), 88).await,
        "and a refused use does not revive it"
    );

    // An absolute end at minute 60, however often it is used.
    let ends = session_key();
    sessions
        .start(&session(&ends, 60, 30))
        .await
        .expect("start");
    for minute in [20, 40, 59] {
        assert!(touch(ends.clone(), minute).await, "minute {minute}");
    }
    assert!(
        !touch(ends.clone(), 60).await,
        "at its end it is refused, though used a minute ago"
    );
    assert!(!touch(ends.clone(), 61).await);
}

async fn a_session_of_another_credential_is_refused(kind: Kind) {
    let backend = kind.make(10).await;
    let sessions = &backend.backends.sessions;
    let key = session_key();
    sessions
        .start(&session(&key, 720, 30))
        .await
        .expect("start");
    assert!(
        !sessions
            .touch(&key, "fingerprint-of-a-new-token", at(1), at(31))
            .await
            .expect("touch"),
        "after the token changed, the old session is refused"
    );
    assert!(
        !sessions
            .touch(&key, CREDENTIAL, at(40), at(70))
            .await
            .expect("touch"),
        "and the refused use did not move its idle expiry"
    );
}

async fn every_connection_sees_the_same_sessions(kind: Kind) {
    let backend = kind.make(10).await;
    // Two web instances, each with its own connection to one backend.
    let one = &backend.backends.sessions;
    let other = backend.second_connection(10).sessions;
    let key = session_key();
    one.start(&session(&key, 720, 30)).await.expect("start");
    assert!(
        other
            .touch(&key, CREDENTIAL, at(1), at(31))
            .await
            .expect("touch"),
        "started on one, found on the other"
    );
    other.end(&key).await.expect("end");
    assert!(
        !one.touch(&key, CREDENTIAL, at(2), at(32))
            .await
            .expect("touch"),
        "ended on the other, refused on the one"
    );
}

on_both_backends!(
    a_session_is_found_until_it_is_ended,
    a_session_idles_out_unless_used_and_ends_however_used,
    a_session_of_another_credential_is_refused,
    every_connection_sees_the_same_sessions,
);
