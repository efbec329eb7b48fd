//! The `Queue` port: what every queue does, standard and FIFO, on both
//! backends.

use super::*;

async fn message_attributes_arrive_with_the_message(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = &backend.backends.queue;
    let attributes = std::collections::BTreeMap::from([
        (
            "beanstalk.sqsd.task_name".to_owned(),
            "sweep-pending".to_owned(),
        ),
        ("trace".to_owned(), "abc def".to_owned()),
    ]);
    queue
        .send_message(&Outgoing::new("with attributes").with_attributes(attributes.clone()))
        .await
        .expect("send");
    queue.send("without").await.expect("send");
    let mut received = queue.receive(10, BRIEF, HIDE).await.expect("receive");
    received.sort_by(|a, b| a.body.cmp(&b.body));
    let bodies_and_attributes: Vec<_> = received
        .into_iter()
        .map(|message| (message.body, message.attributes))
        .collect();
    assert_eq!(
        bodies_and_attributes,
        vec![
            ("with attributes".to_owned(), attributes),
            ("without".to_owned(), Default::default()),
        ]
    );
}

async fn the_depth_counts_waiting_and_in_flight_messages(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = &backend.backends.queue;
    assert_eq!(queue.depth().await.expect("depth"), QueueDepth::default());
    for body in ["a", "b", "c"] {
        queue.send(body).await.expect("send");
    }
    let taken = queue.receive(1, BRIEF, HIDE).await.expect("receive");
    assert_eq!(taken.len(), 1);
    let depth = queue.depth().await.expect("depth");
    assert_eq!(
        depth,
        QueueDepth {
            waiting: 2,
            in_flight: 1,
            delayed: 0
        }
    );
    assert!(!depth.is_idle_but(1), "two are waiting");
    for message in taken {
        queue.delete(&message.receipt_handle).await.expect("delete");
    }
    for message in queue.receive(10, BRIEF, HIDE).await.expect("receive") {
        queue.delete(&message.receipt_handle).await.expect("delete");
    }
    assert_eq!(queue.depth().await.expect("depth"), QueueDepth::default());
}

async fn a_sent_message_is_received_once_then_hidden(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = &backend.backends.queue;
    queue.send("one").await.expect("send");
    let received = queue.receive(10, BRIEF, HIDE).await.expect("receive");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, "one");
    assert_eq!(received[0].receive_count, 1);
    assert!(received[0].sent_at_ms.is_some());
    assert!(
        queue
            .receive(10, BRIEF, HIDE)
            .await
            .expect("receive")
            .is_empty(),
        "hidden while in flight"
    );
}

async fn a_released_message_comes_back_with_a_higher_count(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = &backend.backends.queue;
    queue.send("again").await.expect("send");
    let first = queue
        .receive(1, BRIEF, HIDE)
        .await
        .expect("receive")
        .remove(0);
    queue
        .change_visibility(&first.receipt_handle, Duration::ZERO)
        .await
        .expect("release");
    let second = queue
        .receive(1, BRIEF, HIDE)
        .await
        .expect("receive")
        .remove(0);
    assert_eq!(second.message_id, first.message_id);
    assert_eq!(second.receive_count, 2);
    assert_ne!(
        second.receipt_handle, first.receipt_handle,
        "a new handle per receive"
    );
}

async fn a_message_whose_visibility_runs_out_comes_back(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = &backend.backends.queue;
    queue.send("timeout").await.expect("send");
    let first = queue
        .receive(1, BRIEF, Duration::from_secs(1))
        .await
        .expect("receive");
    assert_eq!(first.len(), 1);
    let again = queue
        .receive(1, Duration::from_secs(5), HIDE)
        .await
        .expect("receive");
    assert_eq!(again.len(), 1, "visible again after its timeout");
    assert_eq!(again[0].receive_count, 2);
}

async fn a_deleted_message_never_comes_back(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = &backend.backends.queue;
    queue.send("done").await.expect("send");
    let received = queue
        .receive(1, BRIEF, Duration::from_secs(1))
        .await
        .expect("receive")
        .remove(0);
    queue
        .delete(&received.receipt_handle)
        .await
        .expect("delete");
    assert!(
        queue
            .receive(1, Duration::from_secs(2), HIDE)
            .await
            .expect("receive")
            .is_empty()
    );
}

async fn a_receive_returns_at_most_the_batch_asked_for(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = &backend.backends.queue;
    for n in 0..5 {
        queue.send(&format!("m{n}")).await.expect("send");
    }
    let batch = queue.receive(3, BRIEF, HIDE).await.expect("receive");
    assert!(!batch.is_empty() && batch.len() <= 3, "got {}", batch.len());
}

async fn a_long_poll_returns_when_a_message_arrives(kind: Kind) {
    let backend = kind.make(10).await;
    let queue = Arc::clone(&backend.backends.queue);
    let sender = Arc::clone(&queue);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sender.send("late").await.expect("send");
    });
    let started = Instant::now();
    let received = queue
        .receive(1, Duration::from_secs(10), HIDE)
        .await
        .expect("receive");
    assert_eq!(received.len(), 1, "the long poll saw the message");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "it returned before its wait ran out"
    );
}

async fn a_message_received_max_times_moves_to_the_dead_letters(kind: Kind) {
    let backend = kind.make(2).await;
    let queue = &backend.backends.queue;
    queue.send("poison").await.expect("send");
    for _ in 0..2 {
        let received = queue
            .receive(1, Duration::from_secs(2), HIDE)
            .await
            .expect("receive");
        assert_eq!(received.len(), 1);
        queue
            .change_visibility(&received[0].receipt_handle, Duration::ZERO)
            .await
            .expect("release");
    }
    assert!(
        queue
            .receive(1, Duration::from_secs(1), HIDE)
            .await
            .expect("receive")
            .is_empty()
    );
    assert_eq!(
        backend.dead_letters.bodies().await,
        vec!["poison".to_owned()]
    );
}

/// The dead-letter queue the redrive policy fills can be counted and looked
/// at without taking anything, and moved back, after which the work queue
/// delivers each message again with a fresh receive count (as SQS's redrive
/// and its `StartMessageMoveTask` do).
async fn dead_letters_are_counted_shown_and_moved_back(kind: Kind) {
    let backend = kind.make(2).await;
    let queue = &backend.backends.queue;
    let sent = ["poison 1", "poison 2", "poison 3"];
    for body in sent {
        queue.send(body).await.expect("send");
    }
    for _ in 0..2 {
        let received = queue
            .receive(10, Duration::from_secs(2), HIDE)
            .await
            .expect("receive");
        assert_eq!(received.len(), 3);
        for message in received {
            queue
                .change_visibility(&message.receipt_handle, Duration::ZERO)
                .await
                .expect("release");
        }
    }
    assert!(
        bodies_of(queue, 10, BRIEF).await.is_empty(),
        "all three were dead-lettered"
    );
    let dead_letters = queue
        .dead_letter_queue()
        .await
        .expect("find the dead-letter queue")
        .expect("the queue has one");
    assert_eq!(dead_letters.depth().await.expect("depth"), 3);
    for _ in 0..2 {
        let mut shown: Vec<String> = dead_letters
            .peek(10)
            .await
            .expect("peek")
            .into_iter()
            .map(|dead| dead.body)
            .collect();
        shown.sort();
        assert_eq!(shown, sent, "a look shows them all and takes none");
    }
    let mut moved = 0;
    for _ in 0..10 {
        match dead_letters.move_back().await.expect("move back") {
            0 => break,
            some => moved += some,
        }
    }
    assert_eq!(moved, 3);
    assert_eq!(dead_letters.depth().await.expect("depth"), 0);
    let received = queue
        .receive(10, Duration::from_secs(2), HIDE)
        .await
        .expect("receive");
    let mut bodies: Vec<&str> = received
        .iter()
        .map(|message| message.body.as_str())
        .collect();
    bodies.sort_unstable();
    assert_eq!(bodies, sent, "each is delivered again");
    assert!(received.iter().all(|message| message.receive_count == 1));
}

async fn a_batch_is_sent_and_recorded_whole(kind: Kind) {
    let backend = kind.make(10).await;
    let (queue, store) = (&backend.backends.queue, &backend.backends.store);
    let bodies: Vec<String> = (0..23).map(|n| format!("b{n}")).collect();
    let outgoing: Vec<Outgoing> = bodies.iter().map(Outgoing::new).collect();
    let sent = queue.send_batch(&outgoing).await.expect("send batch");
    assert_eq!(sent, vec![true; 23]);
    let mut received = Vec::new();
    for _ in 0..10 {
        for message in queue.receive(10, BRIEF, HIDE).await.expect("receive") {
            received.push(message.body);
        }
        if received.len() == 23 {
            break;
        }
    }
    received.sort();
    let mut expected = bodies.clone();
    expected.sort();
    assert_eq!(received, expected);

    let messages: Vec<Message> = (0..30).map(|n| message(&format!("r{n}"))).collect();
    store.create_batch(&messages).await.expect("create batch");
    let ids: Vec<_> = messages.iter().map(|message| message.id).collect();
    let mut read = store.get_many(&ids).await.expect("get many");
    read.sort_by_key(|message| message.id);
    assert_eq!(read, messages);
    assert_eq!(
        store
            .get_many(&[messages::MessageId::new()])
            .await
            .expect("get many"),
        vec![]
    );
}

testkit::on_every_queue!(
    message_attributes_arrive_with_the_message,
    the_depth_counts_waiting_and_in_flight_messages,
    a_sent_message_is_received_once_then_hidden,
    a_released_message_comes_back_with_a_higher_count,
    a_message_whose_visibility_runs_out_comes_back,
    a_deleted_message_never_comes_back,
    a_receive_returns_at_most_the_batch_asked_for,
    a_long_poll_returns_when_a_message_arrives,
    a_message_received_max_times_moves_to_the_dead_letters,
    dead_letters_are_counted_shown_and_moved_back,
    a_batch_is_sent_and_recorded_whole,
);
