//! What a send answers: the messages it recorded and enqueued, never none.
//! A plan of one message answers that message ([`Sent::one`]), with no
//! empty case for its caller to invent an error for.

use messages::Message;

/// The messages of a send, in the order they were planned; at least one.
#[derive(Debug)]
pub struct Sent {
    first: Message,
    rest: Vec<Message>,
}

impl Sent {
    /// `messages` as a send's answer, or `None` when there are none.
    pub(super) fn new(messages: Vec<Message>) -> Option<Self> {
        let mut messages = messages.into_iter();
        let first = messages.next()?;
        Some(Self {
            first,
            rest: messages.collect(),
        })
    }

    /// The message of a send of one (the first of a burst).
    pub fn one(self) -> Message {
        self.first
    }

    /// How many were sent.
    pub fn count(&self) -> usize {
        1 + self.rest.len()
    }

    /// Every message sent, in order.
    pub fn all(self) -> Vec<Message> {
        let mut all = Vec::with_capacity(self.count());
        all.push(self.first);
        all.extend(self.rest);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Message {
        let body = messages::MessageBody::parse(body).expect("a body");
        Message::new(body, messages::JobKind::default())
    }

    #[test]
    fn a_send_of_none_is_no_answer() {
        assert!(Sent::new(Vec::new()).is_none());
    }

    #[test]
    fn the_messages_come_back_in_order() {
        let planned = vec![message("a"), message("b"), message("c")];
        let ids: Vec<_> = planned.iter().map(|message| message.id).collect();
        let sent = Sent::new(planned).expect("three");
        assert_eq!(sent.count(), 3);
        let all: Vec<_> = sent.all().iter().map(|message| message.id).collect();
        assert_eq!(all, ids);
    }
}
