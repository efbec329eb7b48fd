//! Requests shaped exactly as Elastic Beanstalk's sqsd sends them: its
//! `User-Agent`, `Content-Type` and every `X-Aws-Sqsd-*` header.

use std::time::Duration;

use messages::{Queue, Received};
use reqwest::StatusCode;
use sqsd::Delivery;

/// sqsd's `User-Agent`.
pub const USER_AGENT: &str = "aws-sqsd/3.0.4";

/// A delivery with every header set, for a hand-made body.
pub fn delivery(receive_count: u32) -> Delivery {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Delivery {
        message_id: messages::MessageId::new().to_string(),
        receive_count,
        queue: Some("test-queue".to_owned()),
        first_received_at: Some(now.clone()),
        sent_at: Some(now),
        sender_id: Some("AIDAEXAMPLE".to_owned()),
        attributes: Default::default(),
    }
}

/// POSTs `body` to `{worker}/process` as sqsd would, and returns the answer.
pub async fn post(
    worker: &str,
    delivery: &Delivery,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{worker}/process"))
        .header("user-agent", USER_AGENT)
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in &delivery.to_headers() {
        request = request.header(name.as_str(), value.as_bytes());
    }
    let response = request.send().await.expect("the worker answers");
    let status = response.status();
    let json = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// Does what sqsd does for the next message on `queue`: receive it, POST it,
/// delete it on 200, or make it visible again at once otherwise (sqsd waits
/// `ErrorVisibilityTimeout`; tests need not). `None` when the queue stays empty.
pub async fn deliver_next(
    queue: &dyn Queue,
    worker: &str,
) -> Option<(Received, StatusCode, serde_json::Value)> {
    let received = queue
        .receive(1, Duration::from_secs(2), Duration::from_secs(30))
        .await
        .expect("receive from the emulator")
        .into_iter()
        .next()?;
    let delivery = Delivery::from_received(&received, "test-queue");
    let (status, json) = post(worker, &delivery, &received.body).await;
    if status == StatusCode::OK {
        queue
            .delete(&received.receipt_handle)
            .await
            .expect("delete");
    } else {
        queue
            .change_visibility(&received.receipt_handle, Duration::ZERO)
            .await
            .expect("change visibility");
    }
    Some((received, status, json))
}
