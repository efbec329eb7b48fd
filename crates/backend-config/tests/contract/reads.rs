//! The `DashboardReads` role: lists, counts, the newest and the oldest
//! waiting, exact at any size.

use super::*;

async fn lists_are_newest_first_filtered_and_paged(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let mut ids = Vec::new();
    for n in 0..5 {
        let message = message(&format!("m{n}"));
        store.create(&message).await.expect("create");
        ids.push(message.id);
    }
    store
        .finish(ids[1], &outcome(FinalStatus::Complete, 1, None))
        .await
        .expect("finish");
    store
        .finish(ids[3], &outcome(FinalStatus::Complete, 1, None))
        .await
        .expect("finish");

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list(ListQuery {
                status: None,
                group: None,
                limit: 2,
                cursor,
            })
            .await
            .expect("list");
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|message| message.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let newest_first: Vec<_> = ids.iter().rev().copied().collect();
    assert_eq!(seen, newest_first);

    let complete = store
        .list(ListQuery {
            status: Some(Status::Complete),
            group: None,
            limit: 10,
            cursor: None,
        })
        .await
        .expect("list");
    let complete: Vec<_> = complete.items.iter().map(|message| message.id).collect();
    assert_eq!(complete, vec![ids[3], ids[1]]);
    let pending = store
        .list(ListQuery {
            status: Some(Status::Pending),
            group: None,
            limit: 2,
            cursor: None,
        })
        .await
        .expect("list");
    assert_eq!(
        pending.items.iter().map(|m| m.id).collect::<HashSet<_>>(),
        HashSet::from([ids[4], ids[2]])
    );
    assert_eq!(
        pending.next_cursor,
        Some(ids[2]),
        "a third pending message is left"
    );
}

/// Pages through `status` (or all) `limit` at a time; every id seen, in order.
async fn every_page(
    store: &dyn messages::StatusStore,
    status: Option<Status>,
    limit: u32,
) -> Vec<messages::MessageId> {
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..1000 {
        let page = store
            .list(ListQuery {
                status,
                group: None,
                limit,
                cursor,
            })
            .await
            .expect("list");
        assert!(
            page.items.len() <= limit as usize,
            "a page longer than its limit"
        );
        seen.extend(page.items.iter().map(|message| message.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
    panic!("paging never ended");
}

// The DynamoDB store spreads every list over shards and merges them on read
// (crates/messages-aws/src/dynamodb/layout.rs): with 300 messages every shard
// holds several, so a merge that skipped, repeated or misordered one shows here.
async fn lists_counts_and_cursors_stay_exact_across_many_messages(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let messages: Vec<Message> = (0..300).map(|n| message(&format!("s{n}"))).collect();
    store.create_batch(&messages).await.expect("create batch");
    let ids: Vec<_> = messages.iter().map(|message| message.id).collect();
    let mut by_status = std::collections::HashMap::new();
    for (n, id) in ids.iter().enumerate() {
        let status = match n % 6 {
            0 | 3 => Some(FinalStatus::Complete),
            1 => Some(FinalStatus::Fail),
            _ => None,
        };
        if let Some(status) = status {
            store
                .finish(*id, &outcome(status, 1, None))
                .await
                .expect("finish");
        }
        by_status
            .entry(status.map_or(Status::Pending, Status::from))
            .or_insert_with(Vec::new)
            .push(*id);
    }
    let newest_first = |ids: &[messages::MessageId]| ids.iter().rev().copied().collect::<Vec<_>>();

    assert_eq!(
        every_page(store.as_ref(), None, 23).await,
        newest_first(&ids)
    );
    for status in Status::ALL {
        let expected = newest_first(&by_status[&status]);
        assert_eq!(
            every_page(store.as_ref(), Some(status), 17).await,
            expected,
            "the {status} list"
        );
        let total = expected.len() as u64;
        assert_eq!(
            store.count(status).await.expect("count"),
            total,
            "{status} counted"
        );
    }
    let newer: Vec<_> = store
        .newer_than(ids[100], 100)
        .await
        .expect("newer")
        .iter()
        .map(|message| message.id)
        .collect();
    assert_eq!(
        newer,
        ids[101..201].to_vec(),
        "the 100 after the 101st, oldest first"
    );
    let stale: Vec<_> = store
        .stale_pending(StaleQuery {
            idle_since: messages::now() + chrono::Duration::seconds(1),
            requeues: Requeues::Fewer(1),
            limit: 20,
        })
        .await
        .expect("stale")
        .iter()
        .map(|message| message.id)
        .collect();
    assert_eq!(
        stale,
        by_status[&Status::Pending][..20].to_vec(),
        "the 20 oldest pending, oldest first"
    );
}

/// A message's group is recorded, and a list can be narrowed to one group,
/// alone or with a status (then a DynamoDB page may be short: the cursor
/// goes on).
async fn a_group_is_recorded_and_lists_narrow_to_it(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let group = |name: &str| MessageGroup::parse(name).ok();
    let mut made = Vec::new();
    for n in 0..9 {
        let name = ["a", "b", ""][n % 3];
        let message = message(&format!("g{n}")).in_group(group(name));
        store.create(&message).await.expect("create");
        made.push(message);
    }
    let first = made[0].id;
    assert_eq!(store.get(first).await.expect("get"), Some(made[0].clone()));
    store
        .finish(first, &outcome(FinalStatus::Complete, 1, None))
        .await
        .expect("finish");
    let listed = |status: Option<Status>, limit: u32, cursor| {
        store.list(ListQuery {
            status,
            group: group("a"),
            limit,
            cursor,
        })
    };
    let page = listed(None, 100, None).await.expect("list");
    let ids: Vec<_> = page.items.iter().map(|message| message.id).collect();
    let mut expected: Vec<_> = made.iter().step_by(3).map(|message| message.id).collect();
    expected.reverse();
    assert_eq!(ids, expected, "group a, newest first");
    assert_eq!(page.next_cursor, None);
    // Paged by two, the whole group comes in order.
    let (mut paged, mut cursor) = (Vec::new(), None);
    for _ in 0..10 {
        let page = listed(None, 2, cursor).await.expect("list");
        paged.extend(page.items.iter().map(|message| message.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(paged, expected);
    // With a status: only the group's messages in it.
    let mut complete = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let page = listed(Some(Status::Complete), 100, cursor)
            .await
            .expect("list");
        complete.extend(page.items.iter().map(|message| message.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(complete, [first]);
}

async fn newer_than_lists_what_came_after_oldest_first(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    let mut ids = Vec::new();
    for n in 0..4 {
        let message = message(&format!("n{n}"));
        store.create(&message).await.expect("create");
        ids.push(message.id);
    }
    let newer: Vec<_> = store
        .newer_than(ids[1], 10)
        .await
        .expect("newer")
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(newer, vec![ids[2], ids[3]]);
    let capped: Vec<_> = store
        .newer_than(ids[0], 2)
        .await
        .expect("newer")
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(capped, vec![ids[1], ids[2]]);
}

/// Counts are exact whatever happens to the messages: created one by one or
/// in batches, finished once however often a finish is repeated or raced,
/// retried, deleted; a refused write changes no count.
async fn counts_stay_exact_through_duplicates_races_retries_and_deletes(kind: Kind) {
    let backend = kind.make(10).await;
    let store = Arc::clone(&backend.backends.store);
    let counts = || async {
        let mut counts = Vec::new();
        for status in Status::ALL {
            counts.push(store.count(status).await.expect("count"));
        }
        counts
    };
    assert_eq!(counts().await, [0, 0, 0]);
    let singles: Vec<Message> = (0..5).map(|n| message(&format!("single {n}"))).collect();
    for single in &singles {
        store.create(single).await.expect("create");
    }
    // Three batches' worth (a DynamoDB transaction takes 25).
    let burst: Vec<Message> = (0..60).map(|n| message(&format!("burst {n}"))).collect();
    store.create_batch(&burst).await.expect("create batch");
    let mut copy = singles[0].clone();
    copy.body = "another body, the same id".to_owned();
    assert!(store.create(&copy).await.is_err(), "an id is created once");
    assert_eq!(counts().await, [65, 0, 0], "pending, complete, fail");

    for (index, single) in singles.iter().enumerate() {
        let status = if index < 2 {
            FinalStatus::Fail
        } else {
            FinalStatus::Complete
        };
        for _ in 0..2 {
            // The second is a duplicate delivery: refused, counted once.
            store
                .finish(single.id, &outcome(status, 1, None))
                .await
                .expect("finish");
        }
    }
    store
        .record_attempt(
            burst[0].id,
            1,
            "again",
            messages::now(),
            &retried_delivery(),
        )
        .await
        .expect("attempt");
    assert_eq!(counts().await, [60, 3, 2]);

    store
        .retry(singles[0].id, messages::now())
        .await
        .expect("retry");
    store
        .retry(singles[0].id, messages::now())
        .await
        .expect("retry");
    assert!(store.delete_failed(singles[1].id).await.expect("delete"));
    assert!(!store.delete_failed(singles[1].id).await.expect("delete"));
    assert_eq!(counts().await, [61, 3, 0]);

    // Racing finishes of one message: one wins, one count moves.
    let racers = (0..8u32).map(|n| {
        let store = Arc::clone(&store);
        let id = burst[1].id;
        tokio::spawn(async move {
            store
                .finish(id, &outcome(FinalStatus::Complete, n + 1, None))
                .await
        })
    });
    for racer in racers {
        racer.await.expect("task").expect("finish");
    }
    assert_eq!(counts().await, [60, 4, 0]);
}

/// The pipeline strip's age of the oldest unfinished message: the first
/// pending id, whatever finished before or after it and on whichever shard.
async fn the_oldest_pending_message_is_found_and_its_id_says_when(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    assert_eq!(store.oldest_pending().await.expect("oldest"), None);
    let start = messages::now() - chrono::Duration::minutes(30);
    // 40 ids a minute apart from half an hour ago: spread over the shards.
    let messages: Vec<Message> = (0..40)
        .map(|n| Message {
            id: MessageId::created_at(start + chrono::Duration::seconds(45 * n)),
            ..message(&format!("{n}"))
        })
        .collect();
    store.create_batch(&messages).await.expect("create batch");
    for finished in &messages[..5] {
        store
            .finish(finished.id, &outcome(FinalStatus::Complete, 1, None))
            .await
            .expect("finish");
    }
    let oldest = store.oldest_pending().await.expect("oldest");
    assert_eq!(oldest, Some(messages[5].id));
    let waited = messages::now() - oldest.expect("one").time();
    assert!(
        (waited - chrono::Duration::seconds(30 * 60 - 5 * 45))
            .num_seconds()
            .abs()
            < 60,
        "{waited}"
    );
}

async fn a_page_of_large_messages_is_full(kind: Kind) {
    let backend = kind.make(10).await;
    let store = &backend.backends.store;
    // 40 bodies of 30 KiB: 1.2 MB, over what one DynamoDB Query page returns.
    let big = "x".repeat(30 * 1024);
    let messages: Vec<Message> = (0..40).map(|n| message(&format!("{n} {big}"))).collect();
    store.create_batch(&messages).await.expect("create batch");
    let page = store
        .list(ListQuery {
            status: None,
            group: None,
            limit: 40,
            cursor: None,
        })
        .await
        .expect("list");
    assert_eq!(page.items.len(), 40);
    assert_eq!(page.next_cursor, None);
}

on_both_backends!(
    lists_are_newest_first_filtered_and_paged,
    lists_counts_and_cursors_stay_exact_across_many_messages,
    a_group_is_recorded_and_lists_narrow_to_it,
    newer_than_lists_what_came_after_oldest_first,
    counts_stay_exact_through_duplicates_races_retries_and_deletes,
    the_oldest_pending_message_is_found_and_its_id_says_when,
    a_page_of_large_messages_is_full,
);
