//! Failed messages' errors grouped by their text, with counts, most common
//! first: "12 × the job failed for good (simulate: fail)" reads faster than
//! twelve rows of it. Grouped from what the failures page already read (its
//! page of failed messages), so it costs no backend call.

use messages::Message;

/// What the page says of a failed message with no error recorded.
pub const NO_ERROR: &str = "no error recorded";

/// One error text and how many of the messages have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorGroup {
    /// The error as recorded (whole: the store keeps at most 300 characters).
    pub text: String,
    /// Messages with exactly this text.
    pub count: usize,
}

/// The errors of `messages`, grouped by their exact text (surrounding spaces
/// aside), most common first, then by text, so the order is stable between
/// two loads of the same page.
pub fn group_errors(messages: &[Message]) -> Vec<ErrorGroup> {
    let mut groups: Vec<ErrorGroup> = Vec::new();
    for message in messages {
        let text = message
            .error
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .unwrap_or(NO_ERROR);
        match groups.iter_mut().find(|group| group.text == text) {
            Some(group) => group.count += 1,
            None => groups.push(ErrorGroup {
                text: text.to_owned(),
                count: 1,
            }),
        }
    }
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.text.cmp(&b.text)));
    groups
}

#[cfg(test)]
mod tests {
    use messages::{JobKind, MessageBody};

    use super::*;

    fn failed_with(error: Option<&str>) -> Message {
        let mut message = Message::new(MessageBody::parse("x").expect("valid"), JobKind::Fail);
        message.error = error.map(str::to_owned);
        message
    }

    #[test]
    fn errors_are_grouped_by_text_most_common_first() {
        let messages = [
            failed_with(Some("timed out")),
            failed_with(Some("the job failed for good (simulate: fail)")),
            failed_with(Some("the job failed for good (simulate: fail)")),
            failed_with(None),
            failed_with(Some("  timed out ")),
            failed_with(Some("the job failed for good (simulate: fail)")),
            failed_with(Some("")),
            failed_with(Some("a")),
        ];
        let groups = group_errors(&messages);
        let shown: Vec<(usize, &str)> = groups
            .iter()
            .map(|group| (group.count, group.text.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (3, "the job failed for good (simulate: fail)"),
                (2, NO_ERROR),
                (2, "timed out"),
                (1, "a"),
            ]
        );
        assert_eq!(
            groups.iter().map(|group| group.count).sum::<usize>(),
            messages.len(),
            "every message is in one group"
        );
    }

    #[test]
    fn no_messages_make_no_groups() {
        assert!(group_errors(&[]).is_empty());
    }
}
