//! `simulate: greet`: says hello to the name in a JSON body,
//! `{"name": "Ada"}`: the example of a job with input of its own that the
//! README's "Write your own job" walks through.

use serde::Deserialize;

use crate::{Context, Job, JobError, Json};

/// Logs a greeting for the name it is given.
#[derive(Debug)]
pub struct Greet;

/// Who to greet.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Greeting {
    name: String,
}

impl Job for Greet {
    const NAME: &'static str = "greet";
    const EXPLANATION: &'static str = r#"says hello to the name in a body like {"name": "Ada"}"#;
    type Input = Json<Greeting>;

    async fn run(Json(greeting): Json<Greeting>, _context: &Context<'_>) -> Result<(), JobError> {
        let name = greeting.name.trim();
        if name.is_empty() {
            // Retrying cannot help: the message ends as `fail` now.
            return Err(JobError::Permanent("there is no one to greet".to_owned()));
        }
        tracing::info!("hello, {name}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::JobKind;

    #[tokio::test]
    async fn a_greeting_with_a_name_succeeds() {
        let done = JobKind::Greet
            .run(r#"{"name": "Ada"}"#, &crate::first_delivery())
            .await;
        assert_eq!(done, Ok(()));
    }

    #[tokio::test]
    async fn a_blank_name_fails_for_good() {
        let done = JobKind::Greet
            .run(r#"{"name": " "}"#, &crate::first_delivery())
            .await;
        assert!(matches!(done, Err(crate::JobError::Permanent(_))), "{done:?}");
    }

    #[test]
    fn a_body_without_a_name_is_refused_with_what_to_write() {
        let refused = JobKind::Greet.check("Ada").expect_err("not JSON");
        let text = refused.to_string();
        assert!(text.contains(r#"{"name": "Ada"}"#), "{text}");
        assert!(text.contains("must be JSON"), "{text}");
        let refused = JobKind::Greet.check(r#"{"nom": "Ada"}"#).expect_err("no name");
        assert!(refused.to_string().contains("name"), "{refused}");
    }
}
