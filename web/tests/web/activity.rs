//! The last hour's throughput and latency on both backends: each finished
//! message counts in the minute it finished, with its retried deliveries and
//! its send-to-final time, and the charts draw those figures.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use messages::{Backends, FinalStatus, JobKind, Message, MessageBody, MessageId, Outcome};
use testkit::backends::Kind;
use testkit::on_both_backends;
use tower::ServiceExt;

/// A message sent `ago_s` seconds ago that ended `status` after `took_ms`
/// and `attempts` deliveries.
async fn finished(
    backends: &Backends,
    status: FinalStatus,
    ago_s: i64,
    took_ms: i64,
    attempts: u32,
) {
    let sent = messages::now() - chrono::Duration::seconds(ago_s);
    let mut message = Message::with_id(
        MessageId::created_at(sent),
        MessageBody::parse("measured").expect("valid"),
        JobKind::Succeed,
    );
    message.created_at = sent;
    message.updated_at = sent;
    backends.store.create(&message).await.expect("create");
    let outcome = Outcome {
        status,
        attempts,
        error: None,
        at: sent + chrono::Duration::milliseconds(took_ms),
        event: None,
    };
    backends
        .store
        .finish(message.id, &outcome)
        .await
        .expect("finish");
}

async fn get(app: axum::Router, path: &str) -> (StatusCode, String) {
    let response = app
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn the_last_hour_counts_finished_messages_retries_and_send_to_final_times(kind: Kind) {
    let backend = kind.make(10).await;
    let backends = &backend.backends;
    finished(backends, FinalStatus::Complete, 60, 100, 1).await;
    finished(backends, FinalStatus::Complete, 50, 200, 2).await;
    finished(backends, FinalStatus::Complete, 40, 300, 1).await;
    finished(backends, FinalStatus::Fail, 30, 4_000, 10).await;
    // Sent two hours ago: not in the last hour.
    finished(backends, FinalStatus::Complete, 7_200, 100, 1).await;
    // Still pending: not finished.
    let pending = Message::new(
        MessageBody::parse("waiting").expect("valid"),
        JobKind::Succeed,
    );
    backends.store.create(&pending).await.expect("create");

    let app = web::Web::new(backends.clone()).router();
    let (status, body) = get(app.clone(), "/api/activity").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let activity: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (
            &activity["complete"],
            &activity["fail"],
            &activity["retries"]
        ),
        (
            &serde_json::json!(3),
            &serde_json::json!(1),
            &serde_json::json!(10)
        ),
        "{activity}"
    );
    assert_eq!(activity["p50_ms"], 200);
    assert_eq!(activity["p95_ms"], 4_000);
    assert_eq!(activity["sampled"], false);
    let minutes = activity["minutes"].as_array().expect("minutes");
    assert_eq!(minutes.len(), 60);
    let finished_in: u64 = minutes
        .iter()
        .map(|minute| {
            minute["complete"].as_u64().unwrap_or(0) + minute["fail"].as_u64().unwrap_or(0)
        })
        .sum();
    assert_eq!(finished_in, 4);

    let (status, charts) = get(app, "/activity/charts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        charts.contains("3 complete, 1 failed, 10 retried deliveries"),
        "{charts}"
    );
    assert!(
        charts.contains("median 200 ms, 95th percentile 4.0 s"),
        "{charts}"
    );
    assert!(charts.contains("bar-complete") && charts.contains("bar-fail"));
    assert!(!charts.contains("<script"), "drawn without a script");
}

on_both_backends!(the_last_hour_counts_finished_messages_retries_and_send_to_final_times);
