//! Counts in words: "1 message", "3 messages", never "message(s)".

/// `count` with the noun that fits it.
pub fn count(count: impl Into<u64>, one: &str, many: &str) -> String {
    match count.into() {
        1 => format!("1 {one}"),
        count => format!("{count} {many}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1u32, "message", "messages"), "1 message");
        assert_eq!(count(0u32, "message", "messages"), "0 messages");
        assert_eq!(
            count(3u64, "failed message", "failed messages"),
            "3 failed messages"
        );
    }
}
