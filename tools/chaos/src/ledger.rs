//! What the suite checks once the chaos is over, and its figures: every
//! accepted message final in its expected state, none lost, none stuck, none
//! flipped (a final state seen once never changes), every record explained by
//! an answer (nothing recorded behind "was not sent"), and no wrong answer.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use messages::{JobKind, Message, MessageId, Status};

use crate::senders::{Ended, Send, ids_in};

/// The chaos done to the processes and the backend.
#[derive(Debug, Default, Clone)]
pub struct Chaos {
    /// Times the web was SIGKILLed and restarted.
    pub web_kills: u32,
    /// Times a worker was SIGKILLed and restarted.
    pub worker_kills: u32,
    /// Times the backend refused everything for two seconds.
    pub refusals: u32,
    /// Times the backend held everything unanswered for two seconds.
    pub blackholes: u32,
    /// Jobs delivered a second time, by hand, while the first may be running.
    pub duplicates: u32,
}

/// The outcome of a run.
#[derive(Debug, Default)]
pub struct Figures {
    /// Messages sent (one send each).
    pub sends: usize,
    /// Sends answered `202`.
    pub accepted: usize,
    /// Sends answered "recorded but marked fail".
    pub marked_fail: usize,
    /// Answers, over all tries, that said the outcome was not known.
    pub unknown_answers: usize,
    /// Tries that got no answer at all (the web killed, a connection cut).
    pub no_answer: usize,
    /// Accepted or marked-fail messages final at the end.
    pub finals: usize,
    /// Problems, each a sentence: lost, stuck, flipped, wrong state, a record
    /// no answer named, a wrong answer, a send never settled.
    pub problems: Vec<String>,
}

/// The state a message must end in.
fn expected(simulate: JobKind, shown: Status) -> Status {
    if shown.is_final() {
        return shown;
    }
    match simulate {
        JobKind::Fail => Status::Fail,
        _ => Status::Complete,
    }
}

/// Checks `sends` against the store's `records` and the `flips` seen.
pub fn check(sends: &[Send], records: &[Message], flips: &[String]) -> Figures {
    let mut figures = Figures {
        sends: sends.len(),
        ..Figures::default()
    };
    let stored: BTreeMap<MessageId, &Message> = records
        .iter()
        .map(|message| (message.id, message))
        .collect();
    let mut named = BTreeSet::new();
    for send in sends {
        for seen in &send.answers {
            if seen.status.is_none() {
                figures.no_answer += 1;
            }
            if seen.text.contains("not known") {
                figures.unknown_answers += 1;
                named.extend(ids_in(&seen.text));
            }
        }
        let (id, want) = match &send.ended {
            Ended::Accepted(id, shown) => {
                figures.accepted += 1;
                (*id, expected(send.simulate, *shown))
            }
            Ended::MarkedFail(id) => {
                figures.marked_fail += 1;
                (*id, Status::Fail)
            }
            Ended::Wrong(answer) => {
                figures.problems.push(format!("a wrong answer: {answer}"));
                continue;
            }
            Ended::GaveUp => {
                let last = send
                    .answers
                    .last()
                    .map_or("none", |seen| seen.text.as_str());
                figures
                    .problems
                    .push(format!("a send never settled; its last answer: {last}"));
                continue;
            }
        };
        named.insert(id);
        match stored.get(&id) {
            None => figures
                .problems
                .push(format!("lost: {id} was answered but is not recorded")),
            Some(message) if message.status == Status::Pending => {
                figures
                    .problems
                    .push(format!("stuck: {id} is still pending"));
            }
            Some(message) if message.status != want => figures.problems.push(format!(
                "{id} ({}) ended {}, not {want}",
                send.simulate, message.status
            )),
            Some(_) => figures.finals += 1,
        }
    }
    for message in records {
        if !named.contains(&message.id) {
            figures.problems.push(format!(
                "{} is recorded ({}) but no answer named it: an answer said less than happened",
                message.id, message.status
            ));
        }
    }
    figures.problems.extend(flips.iter().cloned());
    figures
}

/// The run as a Markdown section.
pub fn report(backend: &str, seconds: u64, seed: u64, chaos: &Chaos, figures: &Figures) -> String {
    // Writing to a String cannot fail.
    let mut text = String::new();
    let _ = writeln!(
        text,
        "### Chaos on the {backend} backend ({seconds} s of chaos, seed {seed})\n"
    );
    let _ = writeln!(text, "| measure | value |\n|---|---|");
    let _ = writeln!(
        text,
        "| faults: web SIGKILLed / a worker SIGKILLed / backend refusing 2 s / backend blackholed 2 s / jobs delivered twice | {} / {} / {} / {} / {} |",
        chaos.web_kills, chaos.worker_kills, chaos.refusals, chaos.blackholes, chaos.duplicates
    );
    let _ = writeln!(
        text,
        "| sends / accepted (`202`) / marked fail (`503`, said so) | {} / {} / {} |",
        figures.sends, figures.accepted, figures.marked_fail
    );
    let _ = writeln!(
        text,
        "| tries with no answer / answers \"not known\" (then settled by a retry with the same key) | {} / {} |",
        figures.no_answer, figures.unknown_answers
    );
    let _ = writeln!(
        text,
        "| final in the expected state / problems (lost, stuck, flipped, wrong state or answer) | {} / {} |",
        figures.finals,
        figures.problems.len()
    );
    for problem in figures.problems.iter().take(20) {
        let _ = writeln!(text, "\n- {problem}");
    }
    text
}
