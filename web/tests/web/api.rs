//! The web's JSON API and page on SQS and DynamoDB served by moto: what is
//! accepted, what is refused (and that a refusal changes nothing), and lists
//! read page by page from the table's indexes.

use messages::MAX_BODY_BYTES;
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::moto;

use crate::helpers::{finish_next, spawn_web};

struct Web {
    fresh: moto::Fresh,
    url: String,
    client: reqwest::Client,
}

async fn web() -> Web {
    let fresh = moto::fresh(10).await;
    let url = spawn_web(fresh.backends.clone()).await;
    Web {
        fresh,
        url,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
    }
}

impl Web {
    async fn post_json(&self, body: &str) -> (StatusCode, Value) {
        self.post_json_to("/api/messages", body).await
    }

    async fn post_json_to(&self, path: &str, body: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("answer");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("answer");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn count(&self) -> usize {
        let (_, page) = self.get("/api/messages?limit=100").await;
        page["items"].as_array().map_or(0, Vec::len)
    }
}

#[tokio::test]
async fn a_message_without_simulate_is_accepted_as_ok() {
    let web = web().await;
    let (status, message) = web.post_json(r#"{"body": "plain"}"#).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(message["simulate"], "ok");
    for field in [
        "id",
        "body",
        "status",
        "attempts",
        "created_at",
        "updated_at",
        "error",
    ] {
        assert!(message.get(field).is_some(), "missing {field}: {message}");
    }
}

/// A job declares its input (`jobs::Input`); the web parses each body as its
/// job's input before it records or charges anything, so a body the job
/// cannot take is refused with what to write instead.
#[tokio::test]
async fn a_body_its_job_cannot_take_is_refused_before_anything_is_recorded() {
    let web = web().await;
    let not_json = [
        ("/api/messages", r#"{"body": "Ada", "simulate": "greet"}"#),
        (
            "/api/messages/batch",
            r#"{"body": "Ada", "simulate": "greet", "count": 2}"#,
        ),
    ];
    for (path, body) in not_json {
        let (status, answer) = web.post_json_to(path, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {answer}");
        assert_eq!(answer["code"], "bad_input", "{path}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains("must be JSON"), "{path}: {error}");
        assert!(error.contains(r#"{"name": "Ada"}"#), "{path}: {error}");
    }
    assert_eq!(web.count().await, 0, "nothing was recorded");

    let (status, message) = web
        .post_json(r#"{"body": "{\"name\": \"Ada\"}", "simulate": "greet"}"#)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{message}");
    assert_eq!(message["simulate"], "greet");
    assert_eq!(web.count().await, 1);

    // A burst of JSON input is sent as written: numbering it would break it.
    let (status, created) = web
        .post_json_to(
            "/api/messages/batch",
            r#"{"body": "{\"name\": \"Ada\"}", "simulate": "greet", "count": 2}"#,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    assert_eq!(
        created["items"].as_array().map(Vec::len),
        Some(2),
        "{created}"
    );
    assert_eq!(web.count().await, 3);
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let web = web().await;
    let too_long = json!({ "body": "x".repeat(MAX_BODY_BYTES + 1) }).to_string();
    // "ok, fail, flaky, slow or greet": the error lists every kind there is.
    let kinds = messages::JobKind::names();
    let cases = [
        (
            r#"{"body": ""}"#.to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty",
        ),
        (
            r#"{"body": "   "}"#.to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty",
        ),
        (too_long, StatusCode::UNPROCESSABLE_ENTITY, "over the limit"),
        (
            r#"{"body": "x", "simulate": "explode"}"#.to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            kinds.as_str(),
        ),
        (
            r#"{"body": "x""#.to_owned(),
            StatusCode::BAD_REQUEST,
            "Send a JSON object",
        ),
        (
            r#"{"text": "x"}"#.to_owned(),
            StatusCode::BAD_REQUEST,
            "body",
        ),
        (
            r#"["x"]"#.to_owned(),
            StatusCode::BAD_REQUEST,
            "Send a JSON object",
        ),
        (
            r#"{"body": 5}"#.to_owned(),
            StatusCode::BAD_REQUEST,
            "Send a JSON object",
        ),
    ];
    for (body, expected, hint) in cases {
        let (status, answer) = web.post_json(&body).await;
        assert_eq!(
            status,
            expected,
            "{}: {answer}",
            &body[..body.len().min(40)]
        );
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(hint), "{error:?} should say {hint:?}");
    }
    let without_content_type = web
        .client
        .post(format!("{}/api/messages", web.url))
        .body(r#"{"body": "x"}"#)
        .send()
        .await
        .expect("answer");
    assert!(without_content_type.status().is_client_error());
    assert_eq!(web.count().await, 0, "nothing was recorded");
}

#[tokio::test]
async fn an_unknown_or_malformed_id_is_a_404_with_a_reason() {
    let web = web().await;
    let (status, answer) = web
        .get(&format!("/api/messages/{}", messages::MessageId::new()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("No message has id")
    );
    let (status, answer) = web.get("/api/messages/not-an-id").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("not a message id")
    );
}

#[tokio::test]
async fn lists_come_newest_first_page_by_page_with_no_gap_or_overlap() {
    let web = web().await;
    let mut sent = Vec::new();
    for n in 0..7 {
        let (_, message) = web
            .post_json(&json!({ "body": format!("m{n}") }).to_string())
            .await;
        sent.push(message["id"].as_str().expect("id").to_owned());
    }
    let mut seen = Vec::new();
    let mut path = "/api/messages?limit=3".to_owned();
    for _ in 0..5 {
        let (status, page) = web.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 3);
        seen.extend(
            items
                .iter()
                .map(|item| item["id"].as_str().expect("id").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/messages?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    sent.reverse();
    assert_eq!(seen, sent, "every message once, newest first");
}

#[tokio::test]
async fn a_status_filter_lists_only_that_status() {
    let web = web().await;
    let (_, doomed) = web
        .post_json(r#"{"body": "doomed", "simulate": "fail"}"#)
        .await;
    finish_next(&web.fresh.backends).await;
    let (_, waiting) = web.post_json(r#"{"body": "waiting"}"#).await;

    let (_, failed) = web.get("/api/messages?status=fail").await;
    let ids: Vec<&Value> = failed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| &item["id"])
        .collect();
    assert_eq!(ids, vec![&doomed["id"]]);
    let (_, pending) = web.get("/api/messages?status=pending").await;
    let ids: Vec<&Value> = pending["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| &item["id"])
        .collect();
    assert_eq!(ids, vec![&waiting["id"]]);
}

#[tokio::test]
async fn bad_list_parameters_name_what_to_fix() {
    let web = web().await;
    for (query, hint) in [
        ("status=done", "pending, in_flight, complete or fail"),
        ("limit=0", "from 1 to 100"),
        ("limit=101", "from 1 to 100"),
        ("limit=ten", "from 1 to 100"),
        ("cursor=abc", "next_cursor"),
    ] {
        let (status, answer) = web.get(&format!("/api/messages?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            answer["error"].as_str().unwrap_or_default().contains(hint),
            "{query}: {answer}"
        );
    }
}

#[tokio::test]
async fn the_page_escapes_what_people_typed() {
    let web = web().await;
    let (status, _) = web
        .post_json(
            &json!({ "body": "<script>alert(1)</script><img src=x onerror=alert(2)>" }).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let html = web
        .client
        .get(&web.url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
        "escaped"
    );
    assert!(!html.contains("<script>alert(1)"), "not raw");
    assert!(!html.contains("<img src=x"), "not raw");
}

#[tokio::test]
async fn the_form_sends_and_redirects_back_or_shows_the_error_keeping_the_text() {
    let web = web().await;
    let sent = web
        .client
        .post(format!("{}/messages", web.url))
        .form(&[("body", "from the form"), ("simulate", "slow")])
        .send()
        .await
        .expect("answer");
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let location = sent.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(location.starts_with("/?sent="), "{location}");
    assert_eq!(web.count().await, 1);

    let refused = web
        .client
        .post(format!("{}/messages", web.url))
        .form(&[("body", "   "), ("simulate", "fail")])
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.expect("html");
    assert!(
        html.contains("The message body is empty"),
        "the error is shown"
    );
    assert!(
        html.contains(r#"value="fail" checked"#),
        "the choice is kept"
    );
    assert_eq!(web.count().await, 1, "nothing more was recorded");
}

#[tokio::test]
async fn a_burst_from_the_form_records_and_queues_every_message() {
    let web = web().await;
    let sent = web
        .client
        .post(format!("{}/messages", web.url))
        .form(&[("body", "burst"), ("simulate", "ok"), ("count", "12")])
        .send()
        .await
        .expect("answer");
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert_eq!(web.count().await, 12);
    let (_, page) = web.get("/api/messages?limit=100").await;
    let mut bodies: Vec<String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["body"].as_str().expect("body").to_owned())
        .collect();
    bodies.sort();
    let mut expected: Vec<String> = (1..=12).map(|n| format!("burst #{n}")).collect();
    expected.sort();
    assert_eq!(bodies, expected);
    let mut jobs = 0;
    for _ in 0..5 {
        let batch = web
            .fresh
            .backends
            .queue
            .receive(
                10,
                std::time::Duration::from_secs(1),
                std::time::Duration::from_secs(60),
            )
            .await
            .expect("receive");
        jobs += batch.len();
        if jobs >= 12 {
            break;
        }
    }
    assert_eq!(jobs, 12, "every message has its job on the queue");
}

#[tokio::test]
async fn a_burst_size_out_of_range_is_refused_and_changes_nothing() {
    let web = web().await;
    for count in ["0", "101", "many"] {
        let refused = web
            .client
            .post(format!("{}/messages", web.url))
            .form(&[("body", "burst"), ("count", count)])
            .send()
            .await
            .expect("answer");
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{count}"
        );
        let html = refused.text().await.expect("html");
        assert!(html.contains("from 1 to 100"), "{count}");
        assert!(html.contains(">burst</textarea>"), "what was typed is kept");
    }
    let (status, answer) = web
        .post_json_to("/api/messages/batch", r#"{"body": "x", "count": 500}"#)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(web.count().await, 0);
}

#[tokio::test]
async fn the_batch_api_answers_every_created_message() {
    let web = web().await;
    let (status, answer) = web
        .post_json_to(
            "/api/messages/batch",
            r#"{"body": "api burst", "simulate": "flaky", "count": 3}"#,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let items = answer["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert!(
        items
            .iter()
            .all(|item| item["status"] == "pending" && item["simulate"] == "flaky")
    );
}

#[tokio::test]
async fn updates_carry_only_what_changed() {
    let web = web().await;
    let (_, first) = web.post_json(r#"{"body": "first"}"#).await;
    let first_id = first["id"].as_str().expect("id").to_owned();

    // Nothing changed since the page saw `first` as pending with 0 attempts.
    let (status, none) = web
        .get(&format!(
            "/api/messages/updates?after={first_id}&watch={first_id}:0"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{none}");
    assert_eq!(none["new"], json!([]));
    assert_eq!(none["changed"], json!([]));
    assert_eq!(none["counts"], Value::Null);

    let (_, second) = web.post_json(r#"{"body": "second"}"#).await;
    finish_next(&web.fresh.backends).await;
    // What is new is read for every page at most this often (`recent.rs`).
    tokio::time::sleep(web::views::recent::REFRESH_EVERY).await;
    let (_, update) = web
        .get(&format!(
            "/api/messages/updates?after={first_id}&watch={first_id}:0&counts=1"
        ))
        .await;
    let new: Vec<&Value> = update["new"]
        .as_array()
        .expect("new")
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(new, vec![&second["id"]], "only the message created since");
    let changed = update["changed"].as_array().expect("changed");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["id"], first["id"]);
    assert_eq!(changed[0]["status"], "complete");
    assert_eq!(
        update["counts"],
        json!({ "pending": 1, "complete": 1, "fail": 0 })
    );

    let (status, bad) = web.get("/api/messages/updates?watch=nonsense").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
}

#[tokio::test]
async fn pages_carry_security_headers_and_assets_are_cached() {
    let web = web().await;
    let page = web.client.get(&web.url).send().await.expect("page");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.expect("html");
    assert!(
        !html.contains("<script>"),
        "no inline script: the CSP forbids it"
    );

    let script = web
        .client
        .get(format!("{}/static/app.js", web.url))
        .send()
        .await
        .expect("asset");
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/javascript")
    );
    assert!(
        script.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("max-age=31536000")
    );
}

#[tokio::test]
async fn a_form_post_from_another_site_is_refused_and_changes_nothing() {
    let web = web().await;
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let refused = web
            .client
            .post(format!("{}/messages", web.url))
            .header(name, value)
            .form(&[("body", "forged")])
            .send()
            .await
            .expect("answer");
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{name}");
    }
    assert_eq!(web.count().await, 0);
}

#[tokio::test]
async fn the_detail_page_shows_one_message_and_unknown_ids_get_a_404_page() {
    let web = web().await;
    let (_, sent) = web
        .post_json(r#"{"body": "look <here>", "simulate": "slow"}"#)
        .await;
    let id = sent["id"].as_str().expect("id");
    let page = web
        .client
        .get(format!("{}/messages/{id}", web.url))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains(id));
    assert!(
        html.contains("look &#60;here&#62;") || html.contains("look &lt;here&gt;"),
        "escaped"
    );
    let missing = web
        .client
        .get(format!(
            "{}/messages/{}",
            web.url,
            messages::MessageId::new()
        ))
        .send()
        .await
        .expect("page");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(
        missing
            .text()
            .await
            .expect("html")
            .contains("No message has id")
    );
}

#[tokio::test]
async fn a_request_over_the_size_limit_is_a_413_that_says_the_limits() {
    let web = web().await;
    let huge = json!({ "body": "x".repeat(300 * 1024) }).to_string();
    let (status, answer) = web.post_json(&huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("at most 32 KiB"),
        "{answer}"
    );
    assert_eq!(web.count().await, 0);
}

#[tokio::test]
async fn the_batch_api_takes_the_count_as_a_form_field_would_give_it() {
    let web = web().await;
    let (status, answer) = web
        .post_json_to("/api/messages/batch", r#"{"body": "typed", "count": "2"}"#)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["items"].as_array().map(Vec::len), Some(2));
    for bad in [r#""abc""#, "2.5", "-1", "true"] {
        let (status, answer) = web
            .post_json_to(
                "/api/messages/batch",
                &format!(r#"{{"body": "typed", "count": {bad}}}"#),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {answer}");
    }
    assert_eq!(web.count().await, 2);
}

#[tokio::test]
async fn watching_the_same_message_twice_is_fine() {
    let web = web().await;
    let (_, sent) = web.post_json(r#"{"body": "twice"}"#).await;
    let id = sent["id"].as_str().expect("id");
    let (status, update) = web
        .get(&format!("/api/messages/updates?watch={id}:0,{id}:0"))
        .await;
    assert_eq!(status, StatusCode::OK, "{update}");
    assert_eq!(update["changed"], json!([]));
}

/// A group is recorded and shown, a list narrows to it, and a group SQS
/// would refuse as a `MessageGroupId` is refused before anything is sent.
#[tokio::test]
async fn a_group_is_recorded_listed_and_a_bad_one_refused_changing_nothing() {
    let web = web().await;
    let (status, message) = web
        .post_json(r#"{"body": "grouped", "group": "customer-42"}"#)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{message}");
    assert_eq!(message["group"], "customer-42");
    let (status, burst) = web
        .post_json_to(
            "/api/messages/batch",
            r#"{"body": "burst", "group": "customer-42", "count": 3}"#,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{burst}");
    let (status, other) = web.post_json(r#"{"body": "no group"}"#).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(other["group"], Value::Null);

    let (status, page) = web.get("/api/messages?group=customer-42").await;
    assert_eq!(status, StatusCode::OK);
    let bodies: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["body"].as_str())
        .collect();
    assert_eq!(bodies, ["burst #3", "burst #2", "burst #1", "grouped"]);

    let before = web.count().await;
    for bad in [
        r#""two words""#,
        r#""ä""#,
        &format!("\"{}\"", "g".repeat(129)),
    ] {
        let (status, answer) = web
            .post_json(&format!(r#"{{"body": "x", "group": {bad}}}"#))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains("A group must be 1 to 128"), "{error}");
    }
    let (status, answer) = web.get("/api/messages?group=two%20words").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(web.count().await, before, "a refusal sends nothing");
    let page = web
        .client
        .get(format!("{}/?group=customer-42", web.url))
        .send()
        .await
        .expect("the page")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains("In group <strong>customer-42</strong>"),
        "the page names the group"
    );
}
