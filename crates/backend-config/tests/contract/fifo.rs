//! A FIFO queue's own rules (groups in order, deduplication), on both
//! backends.

use super::*;

//
// What SQS documents for FIFO queues ("Amazon SQS FIFO queue key terms" and
// "FIFO delivery logic" in the SQS Developer Guide), on both backends.

fn in_group(body: &str, group: &str) -> Outgoing {
    Outgoing {
        group: Some(MessageGroup::parse(group).expect("valid")),
        ..Outgoing::new(body)
    }
}

/// "When you receive a message with a message group ID, no more messages for
/// the same message group ID are returned unless you delete the message or it
/// becomes visible"; and a message made visible again is still its group's
/// first, so a retry does not reorder the group.
async fn a_group_is_delivered_in_order_one_message_at_a_time(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = &backend.backends.queue;
    for body in ["a", "b", "c"] {
        queue
            .send_message(&in_group(body, "g"))
            .await
            .expect("send");
    }
    let first = queue.receive(1, BRIEF, HIDE).await.expect("receive");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].body, "a");
    assert_eq!(
        bodies_of(queue, 10, BRIEF).await,
        Vec::<String>::new(),
        "nothing more of the group while its first is in flight"
    );
    // A retry: visible again, and again the group's first.
    queue
        .change_visibility(&first[0].receipt_handle, Duration::ZERO)
        .await
        .expect("release");
    let again = queue.receive(1, BRIEF, HIDE).await.expect("receive");
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].body.as_str(), again[0].receive_count), ("a", 2));
    queue
        .delete(&again[0].receipt_handle)
        .await
        .expect("delete");
    let mut rest = Vec::new();
    for _ in 0..4 {
        let received = queue.receive(1, BRIEF, HIDE).await.expect("receive");
        for message in received {
            rest.push(message.body.clone());
            queue.delete(&message.receipt_handle).await.expect("delete");
        }
    }
    assert_eq!(rest, ["b", "c"]);
}

/// "Messages that belong to the same message group are always processed one
/// by one ... messages that belong to different message groups might be
/// processed out of order": another group is not held up.
async fn other_groups_proceed_while_one_is_in_flight(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = &backend.backends.queue;
    queue
        .send_message(&in_group("a1", "a"))
        .await
        .expect("send");
    queue
        .send_message(&in_group("a2", "a"))
        .await
        .expect("send");
    queue
        .send_message(&in_group("b1", "b"))
        .await
        .expect("send");
    let first = queue.receive(1, BRIEF, HIDE).await.expect("receive");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].body, "a1");
    assert_eq!(first[0].group.as_deref(), Some("a"));
    assert_eq!(bodies_of(queue, 10, BRIEF).await, ["b1"]);
}

/// "It is possible to receive up to 10 messages in a single call ... These
/// messages retain their FIFO order and can have the same message group ID."
async fn one_receive_may_return_several_of_a_group_in_order(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = &backend.backends.queue;
    for n in 1..=4 {
        queue
            .send_message(&in_group(&format!("m{n}"), "g"))
            .await
            .expect("send");
    }
    let received = bodies_of(queue, 10, BRIEF).await;
    let expected = ["m1", "m2", "m3", "m4"];
    assert!(
        !received.is_empty() && received[..] == expected[..received.len()],
        "a receive returns the group's first messages, in order: {received:?}"
    );
}

/// `SendMessageBatch` on a FIFO queue keeps the order of its entries within
/// a group, and the port sends chunks of ten one after another.
async fn a_batch_keeps_its_order_within_a_group(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = &backend.backends.queue;
    let batch: Vec<Outgoing> = (0..15).map(|n| in_group(&format!("{n:02}"), "g")).collect();
    assert_eq!(
        queue.send_batch(&batch).await.expect("send batch"),
        vec![true; 15]
    );
    let mut order = Vec::new();
    for _ in 0..40 {
        for message in queue.receive(10, BRIEF, HIDE).await.expect("receive") {
            order.push(message.body.clone());
            queue.delete(&message.receipt_handle).await.expect("delete");
        }
        if order.len() == 15 {
            break;
        }
    }
    let expected: Vec<String> = (0..15).map(|n| format!("{n:02}")).collect();
    assert_eq!(order, expected);
}

/// "If a message with a particular message deduplication ID is sent
/// successfully, any messages sent with the same message deduplication ID
/// are accepted successfully but aren't delivered during the 5-minute
/// deduplication interval."
async fn a_repeated_deduplication_id_is_accepted_and_dropped(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = &backend.backends.queue;
    let once = |body: &str, id: &str| Outgoing {
        deduplication_id: Some(id.to_owned()),
        ..in_group(body, "g")
    };
    queue.send_message(&once("first", "x")).await.expect("send");
    queue
        .send_message(&once("repeat", "x"))
        .await
        .expect("a duplicate is accepted");
    queue.send_message(&once("other", "y")).await.expect("send");
    let mut bodies = Vec::new();
    for _ in 0..4 {
        for message in queue.receive(10, BRIEF, HIDE).await.expect("receive") {
            bodies.push(message.body.clone());
            queue.delete(&message.receipt_handle).await.expect("delete");
        }
    }
    assert_eq!(bodies, ["first", "other"]);
}

/// A FIFO queue says so (the poller and the scheduler ask), and says each
/// message's group, the one it was sent in or, with none, one of its own.
async fn the_group_and_the_kind_are_reported(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = &backend.backends.queue;
    assert!(queue.is_fifo());
    assert_eq!(queue.kind(), messages::QueueKind::Fifo);
    queue
        .send_message(&in_group("grouped", "orders"))
        .await
        .expect("send");
    queue.send("alone").await.expect("send");
    let mut received = queue.receive(10, BRIEF, HIDE).await.expect("receive");
    received.sort_by(|a, b| a.body.cmp(&b.body));
    let groups: Vec<_> = received.iter().map(|m| m.group.clone()).collect();
    assert_eq!(groups.len(), 2);
    assert!(
        groups[0].as_deref().is_some_and(|group| group != "orders"),
        "alone: {groups:?}"
    );
    assert_eq!(groups[1].as_deref(), Some("orders"));
}

testkit::on_both_fifo_queues!(
    a_group_is_delivered_in_order_one_message_at_a_time,
    other_groups_proceed_while_one_is_in_flight,
    one_receive_may_return_several_of_a_group_in_order,
    a_batch_keeps_its_order_within_a_group,
    a_repeated_deduplication_id_is_accepted_and_dropped,
    the_group_and_the_kind_are_reported,
);
