//! The capacity scenario's goals, judged on its figures: what a million
//! messages may cost, how hot one partition key value may run, what the
//! page's `Idempotency-Key` may add, and what SQS may bill a message under
//! load. A goal missed fails the run, after the figures are printed.

use std::fmt::Write as _;

use super::cost::{COUNTS_PARTITION, Cost, PARTITION_WRITE_LIMIT, busiest_at_rate};
use super::scenario::{CapacityResults, Phase, Sending};

/// Dollars per million messages sent one at a time, at most.
const SINGLY: f64 = 4.00;
/// Dollars per million messages sent in bursts of 100, at most.
const IN_BURSTS: f64 = 3.50;
/// Write units a message sent with the form's key may cost over one sent
/// through the API without a key: one write of the key's small item.
const KEY_EXTRA_WRITE_UNITS: f64 = 1.0;
/// SQS requests billed per message when many wait (bursts of 100): a batch
/// receive, and a delete, per message or batched where the poller can.
const SQS_UNDER_LOAD: f64 = 2.2;

/// One goal, judged.
#[derive(Debug, Clone)]
pub struct Goal {
    /// What is asked.
    pub asked: String,
    /// What was measured, in words.
    pub measured: String,
    /// Whether the measure is within the goal.
    pub met: bool,
}

fn phase(results: &CapacityResults, sending: Sending) -> Option<&Phase> {
    results.phases.iter().find(|phase| phase.sending == sending)
}

/// Write units a message of `phase`, the counts item's left out: its writes
/// follow the folds' clock ([`COUNTS_PARTITION`]), so a phase that runs
/// longer makes more of them, and two ways of sending are compared without
/// them.
fn send_write_units(phase: &Phase) -> f64 {
    let units: u64 = phase
        .usage
        .writes
        .iter()
        .filter(|write| write.partition != COUNTS_PARTITION)
        .map(|write| write.units)
        .sum();
    units as f64 / phase.messages as f64
}

/// Every goal against `results`. A phase the run did not have is a goal not met.
pub fn judge(results: &CapacityResults) -> Vec<Goal> {
    let singly = phase(results, Sending::OneAtATime);
    let as_form = phase(results, Sending::AsTheForm);
    let bursts = phase(results, Sending::Bursts);
    let mut goals = Vec::new();
    for (sending, found, limit) in [
        (Sending::OneAtATime, singly, SINGLY),
        (Sending::Bursts, bursts, IN_BURSTS),
    ] {
        let total = found.map(|phase| Cost::of(phase).total());
        goals.push(Goal {
            asked: format!(
                "{}: at most ${limit:.2} per million messages",
                sending.name()
            ),
            measured: total.map_or_else(|| "not run".to_owned(), |total| format!("${total:.2}")),
            met: total.is_some_and(|total| total <= limit),
        });
    }
    let hottest = results
        .phases
        .iter()
        .filter_map(|phase| busiest_at_rate(phase).map(|(key, rate)| (phase, key, rate)))
        .max_by(|a, b| a.2.total_cmp(&b.2));
    goals.push(Goal {
        asked: format!(
            "no partition key value above {PARTITION_WRITE_LIMIT:.0} write units a second at 10,000 messages a second"
        ),
        measured: hottest.as_ref().map_or_else(
            || "no writes".to_owned(),
            |(phase, key, rate)| format!("{rate:.0} on `{key}` ({})", phase.sending.name()),
        ),
        met: hottest
            .as_ref()
            .is_some_and(|(_, _, rate)| *rate <= PARTITION_WRITE_LIMIT),
    });
    let extra = singly
        .zip(as_form)
        .map(|(singly, as_form)| send_write_units(as_form) - send_write_units(singly));
    goals.push(Goal {
        asked: format!(
            "the page's send with its Idempotency-Key: at most {KEY_EXTRA_WRITE_UNITS:.0} write unit more than an API send without one"
        ),
        measured: extra.map_or_else(|| "not run".to_owned(), |extra| format!("{extra:+.2}")),
        met: extra.is_some_and(|extra| extra <= KEY_EXTRA_WRITE_UNITS),
    });
    let sqs = bursts.map(|phase| phase.usage.sqs_billed_requests as f64 / phase.messages as f64);
    goals.push(Goal {
        asked: format!(
            "SQS requests billed per message with many waiting (bursts of 100, the local poller): at most {SQS_UNDER_LOAD:.1}"
        ),
        measured: sqs.map_or_else(|| "not run".to_owned(), |sqs| format!("{sqs:.2}")),
        met: sqs.is_some_and(|sqs| sqs <= SQS_UNDER_LOAD),
    });
    goals
}

/// The goals as a Markdown table.
pub fn markdown(goals: &[Goal]) -> String {
    let mut text = String::from("| goal | measured | met |\n|---|---|---|\n");
    for goal in goals {
        // Writing to a String cannot fail.
        let _ = writeln!(
            text,
            "| {} | {} | {} |",
            goal.asked,
            goal.measured,
            if goal.met { "yes" } else { "**no**" }
        );
    }
    text
}

/// Ok when every goal is met; otherwise an error naming those missed.
pub fn all_met(goals: &[Goal]) -> anyhow::Result<()> {
    let missed: Vec<String> = goals
        .iter()
        .filter(|goal| !goal.met)
        .map(|goal| format!("{} (measured {})", goal.asked, goal.measured))
        .collect();
    anyhow::ensure!(
        missed.is_empty(),
        "the capacity scenario missed {} of its {} goals:\n- {}",
        missed.len(),
        goals.len(),
        missed.join("\n- ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::scenario::Seeding;
    use super::super::usage::Usage;
    use super::*;

    fn results(phases: Vec<Phase>) -> CapacityResults {
        CapacityResults {
            body_bytes: 1024,
            layout: Vec::new(),
            phases,
            lists: Vec::new(),
            seeding: Seeding {
                wanted: 0,
                reached: 0,
                stopped_by: None,
                elapsed: Duration::ZERO,
                usage: Usage::default(),
            },
            stopped_by: None,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn a_phase_that_did_not_run_misses_its_goals_and_fails_the_run() {
        let goals = judge(&results(Vec::new()));
        assert_eq!(goals.len(), 5);
        assert!(goals.iter().all(|goal| !goal.met), "{goals:?}");
        let error = all_met(&goals).expect_err("nothing measured, nothing met");
        assert!(
            error.to_string().contains("missed 5 of its 5 goals"),
            "{error}"
        );
    }

    #[test]
    fn phases_that_cost_nothing_meet_every_goal() {
        let phase = |sending| Phase {
            sending,
            messages: 10,
            requests: Default::default(),
            usage: Usage::default(),
            elapsed: Duration::ZERO,
        };
        let goals = judge(&results(vec![
            phase(Sending::OneAtATime),
            phase(Sending::AsTheForm),
            phase(Sending::Bursts),
        ]));
        // No write at all is no partition key value either: that goal says
        // "no writes" and is not met, since nothing was measured.
        let missed: Vec<&str> = goals
            .iter()
            .filter(|goal| !goal.met)
            .map(|goal| goal.measured.as_str())
            .collect();
        assert_eq!(missed, ["no writes"], "{goals:?}");
        assert!(markdown(&goals).contains("| $0.00 | yes |"));
    }

    #[test]
    fn the_key_is_judged_by_the_sends_writes_not_by_how_often_the_counts_folded() {
        let write = |item: &str, units| super::super::usage::Write {
            operation: "PutItem".to_owned(),
            target: "table".to_owned(),
            partition: item.to_owned(),
            item: item.to_owned(),
            change: super::super::usage::Change::Put,
            units,
        };
        let phase = |sending, writes: Vec<super::super::usage::Write>| Phase {
            sending,
            messages: 2,
            requests: Default::default(),
            usage: Usage {
                writes,
                ..Usage::default()
            },
            elapsed: Duration::ZERO,
        };
        let key_goal = |as_form_writes| {
            let goals = judge(&results(vec![
                phase(
                    Sending::OneAtATime,
                    vec![write("id=a", 2), write("id=b", 2)],
                ),
                phase(Sending::AsTheForm, as_form_writes),
            ]));
            goals
                .into_iter()
                .find(|goal| goal.asked.contains("Idempotency-Key"))
                .expect("the key's goal")
        };
        // Two keys claimed, and the counts folded three times meanwhile.
        let mut folded = vec![write("id=c", 2), write("id=d", 2)];
        folded.extend([
            write("id=idempotency-key#1", 1),
            write("id=idempotency-key#2", 1),
        ]);
        folded.extend((0..3).map(|_| write(COUNTS_PARTITION, 1)));
        let goal = key_goal(folded);
        assert_eq!((goal.measured.as_str(), goal.met), ("+1.00", true));
        // A key that cost two writes a send is still seen.
        let mut twice = vec![write("id=c", 2), write("id=d", 2)];
        twice.extend((0..4).map(|n| write(&format!("id=idempotency-key#{n}"), 1)));
        let goal = key_goal(twice);
        assert_eq!((goal.measured.as_str(), goal.met), ("+2.00", false));
    }
}
