//! The `MessageLifecycle` role: a message created once, its attempts and
//! timeline noted, finished once.

use super::*;

async fn a_created_message_reads_back_equal(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let message = message("stored <&> \"quoted\" ünïcode");
    store.create(&message).await.expect("create");
    assert_eq!(store.get(message.id).await.expect("get"), Some(message));
    assert_eq!(
        store.get(messages::MessageId::new()).await.expect("get"),
        None
    );
}

/// The trace of the request that sent a message stays on its record through
/// its finish, and lists carry it: an operator goes from a message that never
/// reached the worker to the request that sent it.
async fn the_trace_a_message_was_sent_in_stays_on_its_record(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736".to_owned();
    let message = message("traced").in_trace(Some(trace_id.clone()));
    store.create(&message).await.expect("create");
    assert_eq!(
        store.get(message.id).await.expect("get"),
        Some(message.clone())
    );
    store
        .finish(message.id, &outcome(FinalStatus::Complete, 1, None))
        .await
        .expect("finish");
    let done = store.get(message.id).await.expect("get").expect("recorded");
    assert_eq!(
        done.trace_id.as_deref(),
        Some(trace_id.as_str()),
        "kept by the finish"
    );
    let page = store
        .list(ListQuery {
            status: None,
            group: None,
            limit: 10,
            cursor: None,
        })
        .await
        .expect("list");
    assert_eq!(
        page.items[0].trace_id.as_deref(),
        Some(trace_id.as_str()),
        "listed with it"
    );
    let untraced = self::message("untraced");
    store.create(&untraced).await.expect("create");
    assert_eq!(
        store
            .get(untraced.id)
            .await
            .expect("get")
            .expect("recorded")
            .trace_id,
        None
    );
}

async fn creating_an_existing_id_is_refused(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let original = message("first");
    store.create(&original).await.expect("create");
    let mut copy = original.clone();
    copy.body = "second".to_owned();
    assert!(store.create(&copy).await.is_err());
    assert_eq!(store.get(original.id).await.expect("get"), Some(original));
}

async fn a_final_state_is_written_once_and_never_changes(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let message = message("once");
    store.create(&message).await.expect("create");
    let applied = store
        .finish(message.id, &outcome(FinalStatus::Complete, 1, None))
        .await
        .expect("finish");
    let Transition::Applied(done) = applied else {
        panic!("expected Applied, got {applied:?}")
    };
    assert_eq!((done.status, done.attempts), (Status::Complete, 1));

    let again = store
        .finish(message.id, &outcome(FinalStatus::Fail, 2, Some("late")))
        .await
        .expect("finish");
    assert_eq!(again, Transition::AlreadyFinal(done.clone()));
    let attempt = store
        .record_attempt(message.id, 5, "late", messages::now(), &retried_delivery())
        .await
        .expect("attempt");
    assert_eq!(attempt, Transition::AlreadyFinal(done.clone()));
    assert_eq!(store.get(message.id).await.expect("get"), Some(done));
}

async fn finishing_an_unknown_message_is_not_found(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let id = messages::MessageId::new();
    assert_eq!(
        store
            .finish(id, &outcome(FinalStatus::Complete, 1, None))
            .await
            .expect("finish"),
        Transition::NotFound
    );
    assert_eq!(
        store
            .record_attempt(id, 1, "x", messages::now(), &retried_delivery())
            .await
            .expect("attempt"),
        Transition::NotFound
    );
}

async fn attempts_never_go_backwards(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let message = message("attempts");
    store.create(&message).await.expect("create");
    store
        .record_attempt(message.id, 3, "third", messages::now(), &retried_delivery())
        .await
        .expect("attempt");
    let late = store
        .record_attempt(
            message.id,
            2,
            "second, late",
            messages::now(),
            &retried_delivery(),
        )
        .await
        .expect("attempt");
    let Transition::Applied(current) = late else {
        panic!("still pending: {late:?}")
    };
    assert_eq!(
        (current.attempts, current.error.as_deref()),
        (3, Some("third"))
    );
}

async fn completing_clears_the_error_of_an_earlier_attempt(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let message = message("flaky");
    store.create(&message).await.expect("create");
    store
        .record_attempt(
            message.id,
            1,
            "first try failed",
            messages::now(),
            &retried_delivery(),
        )
        .await
        .expect("attempt");
    store
        .finish(message.id, &outcome(FinalStatus::Complete, 2, None))
        .await
        .expect("finish");
    let done = store.get(message.id).await.expect("get").expect("exists");
    assert_eq!(
        (done.status, done.attempts, done.error),
        (Status::Complete, 2, None)
    );
}

async fn racing_transitions_leave_exactly_one_winner(kind: Kind) {
    let backend = kind.make(10).await;
    let store = Arc::clone(&backend.backends.store);
    let message = message("race");
    store.create(&message).await.expect("create");
    let racers = (0..10u32).map(|n| {
        let store = Arc::clone(&store);
        let status = if n % 2 == 0 {
            FinalStatus::Complete
        } else {
            FinalStatus::Fail
        };
        tokio::spawn(async move {
            (
                status,
                store
                    .finish(message.id, &outcome(status, n + 1, None))
                    .await,
            )
        })
    });
    let mut winners = Vec::new();
    for racer in racers {
        let (status, result) = racer.await.expect("task");
        if let Transition::Applied(_) = result.expect("finish") {
            winners.push(status);
        }
    }
    assert_eq!(winners.len(), 1, "one transition wins");
    let stored = store.get(message.id).await.expect("get").expect("exists");
    assert_eq!(
        stored.status,
        Status::from(winners[0]),
        "and its state is the one that stays"
    );
}

/// A message's timeline: each change that applied adds its event, once, in
/// order; a duplicate or late write, which is refused, adds none.
async fn the_timeline_records_each_change_once_in_order(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let message = message("timed");
    store.create(&message).await.expect("create");
    let failed_once = messages::Event::delivered(1, messages::now(), 500, Some("boom"));
    store
        .record_attempt(message.id, 1, "boom", messages::now(), &failed_once)
        .await
        .expect("attempt");
    // The same delivery again: refused (attempts never go back), no event.
    store
        .record_attempt(message.id, 1, "boom", messages::now(), &failed_once)
        .await
        .expect("attempt");
    let seen = stored(store, message.id).await.updated_at;
    let requeued_at = messages::now();
    assert!(
        store
            .claim_requeue(message.id, seen, requeued_at, "stuck")
            .await
            .expect("claim")
    );
    let done = messages::Event::delivered(2, messages::now(), 200, None);
    let finish = Outcome {
        event: Some(done.clone()),
        ..outcome(FinalStatus::Fail, 2, Some("for good"))
    };
    store.finish(message.id, &finish).await.expect("finish");
    // A duplicate delivery of the final message: refused, no event.
    store.finish(message.id, &finish).await.expect("finish");
    let retried_at = messages::now();
    store.retry(message.id, retried_at).await.expect("retry");
    let timeline = stored(store, message.id).await.history;
    assert_eq!(
        timeline,
        vec![
            failed_once,
            messages::Event::Requeued { at: requeued_at },
            done,
            messages::Event::Retried { at: retried_at },
        ]
    );
}

/// A slow job's start: noted on a pending message's timeline and nothing
/// else (no status, attempts, `updated_at` or count changes, so the sweeper
/// and the live page's counts see what they saw); refused, changing nothing,
/// on a final or unknown message. Its delivery's answer comes after it.
async fn a_running_job_is_noted_on_a_pending_message_only(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let message = message("slow");
    store.create(&message).await.expect("create");
    let at = messages::now();
    let started = messages::Event::Started {
        receive_count: 1,
        at,
        deadline: at + chrono::Duration::seconds(299),
    };
    assert!(
        store
            .note_started(message.id, &started)
            .await
            .expect("note")
    );
    let noted = stored(store, message.id).await;
    assert_eq!(
        noted,
        Message {
            history: vec![started.clone()],
            ..message.clone()
        },
        "only the timeline changed"
    );
    assert!(matches!(noted.progress(), messages::Progress::Running { since, .. } if since == at));
    assert_eq!(store.count(Status::Pending).await.expect("count"), 1);
    let done = messages::Event::delivered(1, at, 200, None);
    let finish = Outcome {
        event: Some(done.clone()),
        ..outcome(FinalStatus::Complete, 1, None)
    };
    store.finish(message.id, &finish).await.expect("finish");
    // A late note of the same delivery, after its answer: refused.
    assert!(
        !store
            .note_started(message.id, &started)
            .await
            .expect("note")
    );
    let finished = stored(store, message.id).await;
    assert_eq!(finished.history, vec![started.clone(), done]);
    assert_eq!(finished.progress(), messages::Progress::Finished);
    assert!(
        !store
            .note_started(MessageId::new(), &started)
            .await
            .expect("note")
    );
}

/// A timeline keeps its last [`messages::MAX_HISTORY`] events.
async fn a_timeline_keeps_its_last_events(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let message = message("retried often");
    store.create(&message).await.expect("create");
    let total = u32::try_from(messages::MAX_HISTORY).expect("small") + 5;
    for attempt in 1..=total {
        let event = messages::Event::delivered(attempt, messages::now(), 500, Some("again"));
        store
            .record_attempt(message.id, attempt, "again", messages::now(), &event)
            .await
            .expect("attempt");
    }
    let timeline = stored(store, message.id).await.history;
    assert_eq!(timeline.len(), messages::MAX_HISTORY);
    let counts: Vec<u32> = timeline
        .iter()
        .filter_map(|event| match event {
            messages::Event::Delivered { receive_count, .. } => Some(*receive_count),
            _ => None,
        })
        .collect();
    assert_eq!(
        counts,
        (6..=total).collect::<Vec<_>>(),
        "the oldest went first"
    );
}

on_both_backends!(
    a_created_message_reads_back_equal,
    the_trace_a_message_was_sent_in_stays_on_its_record,
    creating_an_existing_id_is_refused,
    a_final_state_is_written_once_and_never_changes,
    finishing_an_unknown_message_is_not_found,
    attempts_never_go_backwards,
    completing_clears_the_error_of_an_earlier_attempt,
    racing_transitions_leave_exactly_one_winner,
    the_timeline_records_each_change_once_in_order,
    a_running_job_is_noted_on_a_pending_message_only,
    a_timeline_keeps_its_last_events,
);
