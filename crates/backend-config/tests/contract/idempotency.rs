//! The `IdempotencyKeys` role: a key claimed once, its first answer
//! standing.

use super::*;

fn key_claim(fingerprint: &str, claimed_at: chrono::DateTime<chrono::Utc>) -> KeyClaim {
    KeyClaim {
        fingerprint: fingerprint.to_owned(),
        ids: vec![messages::MessageId::new(), messages::MessageId::new()],
        claimed_at,
        outcome: KeyOutcome::InProgress,
    }
}

async fn an_idempotency_key_is_claimed_once_and_its_first_answer_stands(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let key = IdempotencyKey::parse("retry-me-1").expect("key");
    let first = key_claim("one:ok:hello", messages::now());
    assert_eq!(
        store.claim_key(&key, &first).await.expect("claim"),
        Claimed::New
    );
    let later = key_claim("one:ok:other", messages::now());
    assert_eq!(
        store.claim_key(&key, &later).await.expect("claim"),
        Claimed::Taken(first.clone()),
        "a second claim finds the first, ids and fingerprint included"
    );

    let at = first.claimed_at;
    assert!(
        store
            .settle_key(&key, at, &KeyOutcome::Unknown)
            .await
            .expect("settle")
    );
    let answered = KeyOutcome::Sent;
    assert!(store.settle_key(&key, at, &answered).await.expect("settle"));
    let late = KeyOutcome::Refused {
        why: "late".to_owned(),
    };
    assert!(
        !store.settle_key(&key, at, &late).await.expect("settle"),
        "the first answer stands"
    );
    let elsewhen = at - chrono::Duration::seconds(1);
    assert!(
        !store
            .settle_key(&key, elsewhen, &KeyOutcome::Unknown)
            .await
            .expect("settle"),
        "only the claim made at that time is settled"
    );
    store.release_key(&key, at).await.expect("release");
    assert_eq!(
        store.claim_key(&key, &later).await.expect("claim"),
        Claimed::Taken(KeyClaim {
            outcome: answered,
            ..first
        }),
        "an answered claim is not released"
    );

    // A refusal is kept with its sentence, for a retry to be given again.
    let refused_key = IdempotencyKey::parse("retry-me-4").expect("key");
    let refused = key_claim("one:ok:hello", messages::now());
    store
        .claim_key(&refused_key, &refused)
        .await
        .expect("claim");
    let why = KeyOutcome::Refused {
        why: "the queue refused".to_owned(),
    };
    assert!(
        store
            .settle_key(&refused_key, refused.claimed_at, &why)
            .await
            .expect("settle")
    );
    assert_eq!(
        store.claim_key(&refused_key, &later).await.expect("claim"),
        Claimed::Taken(KeyClaim {
            outcome: why,
            ..refused
        }),
        "a refused claim is given again with its sentence"
    );
}

async fn a_released_or_expired_key_can_be_claimed_again(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let key = IdempotencyKey::parse("retry-me-2").expect("key");
    let first = key_claim("one:ok:hello", messages::now());
    assert_eq!(
        store.claim_key(&key, &first).await.expect("claim"),
        Claimed::New
    );
    store
        .release_key(&key, first.claimed_at)
        .await
        .expect("release");
    let second = key_claim("one:ok:hello", messages::now());
    assert_eq!(
        store.claim_key(&key, &second).await.expect("claim"),
        Claimed::New
    );

    let old_key = IdempotencyKey::parse("retry-me-3").expect("key");
    let long_ago = messages::now() - messages::KEY_WINDOW - chrono::Duration::seconds(1);
    let old = key_claim("one:ok:hello", long_ago);
    assert_eq!(
        store.claim_key(&old_key, &old).await.expect("claim"),
        Claimed::New
    );
    store
        .settle_key(&old_key, long_ago, &KeyOutcome::Sent)
        .await
        .expect("settle");
    let fresh = key_claim("one:ok:other", messages::now());
    assert_eq!(
        store.claim_key(&old_key, &fresh).await.expect("claim"),
        Claimed::New,
        "a key is remembered for its window only"
    );
    assert!(
        store
            .list(ListQuery {
                status: None,
                group: None,
                limit: 10,
                cursor: None
            })
            .await
            .expect("list")
            .items
            .is_empty(),
        "no list shows a key's record"
    );
}

async fn racing_claims_of_one_key_leave_exactly_one_winner(kind: Kind) {
    let backend = kind.make(10).await;
    let store = Arc::clone(&backend.backends.store);
    let key = IdempotencyKey::parse("retry-me-4").expect("key");
    let claims: Vec<KeyClaim> = (0..8)
        .map(|n| key_claim(&format!("one:ok:{n}"), messages::now()))
        .collect();
    let mut results = Vec::new();
    if matches!(kind, Kind::Moto) {
        // moto's server does not make a conditional write atomic under
        // concurrent requests (two writers can both succeed): on moto the
        // claims go one after another, so this checks the store, not the emulator.
        for claim in &claims {
            results.push(store.claim_key(&key, claim).await.expect("claim"));
        }
    } else {
        let racers: Vec<_> = claims
            .iter()
            .cloned()
            .map(|claim| {
                let (store, key) = (Arc::clone(&store), key.clone());
                tokio::spawn(async move { store.claim_key(&key, &claim).await })
            })
            .collect();
        for racer in racers {
            results.push(racer.await.expect("task").expect("claim"));
        }
    }
    let winners = results
        .iter()
        .filter(|result| **result == Claimed::New)
        .count();
    assert_eq!(winners, 1, "exactly one claim wins: {results:?}");
    let held: HashSet<String> = results
        .iter()
        .filter_map(|result| match result {
            Claimed::Taken(claim) => Some(claim.fingerprint.clone()),
            Claimed::New => None,
        })
        .collect();
    assert_eq!(
        held.len(),
        1,
        "every loser sees the one winner's claim: {held:?}"
    );
}

/// A send that goes through records nothing on its key; a retry that finds
/// its records confirms it, and that answer and the send's own refusal
/// exclude each other, whichever comes first.
async fn a_retry_confirms_a_claim_in_progress_unless_its_send_is_refusing(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let later = key_claim("one:ok:other", messages::now());

    let confirmed_key = IdempotencyKey::parse("confirm-me-1").expect("key");
    let confirmed = key_claim("one:ok:hello", messages::now());
    store
        .claim_key(&confirmed_key, &confirmed)
        .await
        .expect("claim");
    let elsewhen = confirmed.claimed_at - chrono::Duration::seconds(1);
    assert!(
        !store
            .confirm_key(&confirmed_key, elsewhen)
            .await
            .expect("confirm"),
        "only the claim made at that time is confirmed"
    );
    assert!(
        store
            .confirm_key(&confirmed_key, confirmed.claimed_at)
            .await
            .expect("confirm")
    );
    assert!(
        !store
            .confirm_key(&confirmed_key, confirmed.claimed_at)
            .await
            .expect("confirm"),
        "a claim is confirmed once"
    );
    assert!(
        !store
            .settle_key(&confirmed_key, confirmed.claimed_at, &KeyOutcome::Refusing)
            .await
            .expect("settle"),
        "a send cannot begin to refuse what a retry answered"
    );
    assert_eq!(
        store
            .claim_key(&confirmed_key, &later)
            .await
            .expect("claim"),
        Claimed::Taken(KeyClaim {
            outcome: KeyOutcome::Sent,
            ..confirmed
        }),
        "a confirmed claim is answered as sent"
    );

    let refusing_key = IdempotencyKey::parse("confirm-me-2").expect("key");
    let refusing = key_claim("one:ok:hello", messages::now());
    store
        .claim_key(&refusing_key, &refusing)
        .await
        .expect("claim");
    assert!(
        store
            .settle_key(&refusing_key, refusing.claimed_at, &KeyOutcome::Refusing)
            .await
            .expect("settle")
    );
    assert!(
        !store
            .confirm_key(&refusing_key, refusing.claimed_at)
            .await
            .expect("confirm"),
        "a retry cannot confirm a send that is refusing"
    );
    assert_eq!(
        store.claim_key(&refusing_key, &later).await.expect("claim"),
        Claimed::Taken(KeyClaim {
            outcome: KeyOutcome::Refusing,
            ..refusing.clone()
        }),
        "a retry reads that the send is refusing"
    );
    let why = KeyOutcome::Refused {
        why: "the queue refused".to_owned(),
    };
    assert!(
        store
            .settle_key(&refusing_key, refusing.claimed_at, &why)
            .await
            .expect("settle"),
        "a refusing send then records its refusal"
    );
    assert!(
        !store
            .confirm_key(&refusing_key, refusing.claimed_at)
            .await
            .expect("confirm"),
        "an answered claim is not confirmed"
    );
}

on_both_backends!(
    a_retry_confirms_a_claim_in_progress_unless_its_send_is_refusing,
    an_idempotency_key_is_claimed_once_and_its_first_answer_stands,
    a_released_or_expired_key_can_be_claimed_again,
    racing_claims_of_one_key_leave_exactly_one_winner,
);
