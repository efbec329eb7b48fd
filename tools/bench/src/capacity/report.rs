//! The capacity scenario as a Markdown section, ready for BENCHMARKS.md:
//! per message sent, the requests, the units and the dollars; the busiest
//! partition key value against DynamoDB's per-partition limit; and what one
//! list page costs with a small and a large table.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use super::cost::{Cost, JUDGED_RATE, PARTITION_WRITE_LIMIT, busiest_at_rate};
use super::scenario::{CapacityResults, ListRun, Phase, Seeding};
use super::usage::Usage;
use crate::report::per_message;

/// What the figures are and are not, printed under them.
const READING: &str = "\
- Units are modelled, not measured (moto charges none): from every DynamoDB request and answer \
of the real binaries, a shadow copy of each item, and AWS's documented rules: item size = \
attribute names + values (numbers approximated), 1 write unit per 1 KB (the larger of the item \
before and after), an index entry = its keys + projected attributes + 100 bytes, an index key \
change = a delete on the old key value and a put on the new one, a refused conditional write = \
the table's units only; reads 1 unit per 4 KB consistent, half that eventually consistent, a \
`BatchGetItem` item by item, a `Query` page once, on an index from the projected attributes.
- The busiest key of a phase of a thousand messages is partly chance: spread over a few dozen \
key values, the fullest gets more than its even share. The seeded messages above give the \
long-run share of the create path.
- Latencies are moto's: moto answers a `Query` on an index by scanning the whole table, so the \
large table's latency measures moto. What DynamoDB would charge for a page is the requests and \
read units of the same column: the two columns show whether that grows with the table.
- Dollars: on-demand list prices in us-east-1 (DynamoDB since 2024-11-01: $0.625 per million \
write units, $0.125 per million read units; SQS standard: $0.40 per million requests, each 64 KB \
chunk of a payload one request, the free first million a month left out); no storage, no data \
transfer.";

/// Busiest keys shown per phase.
const KEYS_SHOWN: usize = 3;

/// A count with thousands separated: `100,000`.
fn thousands(count: usize) -> String {
    let digits = count.to_string();
    let mut text = String::new();
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Write units per message by table and index, the table first, and the total.
fn write_units(usage: &Usage, messages: f64) -> String {
    let by_target = usage.write_units_by_target();
    let mut parts: Vec<String> = by_target
        .get("table")
        .map(|units| format!("table {:.2}", *units as f64 / messages))
        .into_iter()
        .collect();
    parts.extend(
        by_target
            .iter()
            .filter(|(target, _)| *target != "table")
            .map(|(target, units)| format!("{target} {:.2}", *units as f64 / messages)),
    );
    format!(
        "{:.2} ({})",
        usage.write_units() as f64 / messages,
        parts.join(", ")
    )
}

/// Read units per message (or page), with each operation's.
fn read_units(read_units: &BTreeMap<String, f64>, per: f64) -> String {
    let total: f64 = read_units.values().sum();
    if read_units.is_empty() {
        return "0".to_owned();
    }
    let parts: Vec<String> = read_units
        .iter()
        .map(|(operation, units)| format!("{operation} {:.2}", units / per))
        .collect();
    format!("{:.2} ({})", total / per, parts.join(", "))
}

/// The busiest partition key values of a phase, and the first at 10,000 a second.
fn busiest(phase: &Phase) -> (String, String) {
    let messages = phase.messages as f64;
    let keys = phase.usage.busiest_keys();
    let shown: Vec<String> = keys
        .iter()
        .take(KEYS_SHOWN)
        .map(|key| {
            format!(
                "{}, `{}`: {:.3} units a message, written by {:.1}% of the messages ({} of {})",
                key.target,
                key.partition,
                key.units as f64 / messages,
                100.0 * key.items as f64 / messages,
                key.items,
                phase.messages
            )
        })
        .collect();
    let at_rate = busiest_at_rate(phase).map_or_else(
        || "no writes".to_owned(),
        |(partition, rate)| {
            format!(
                "{rate:.0} write units/s on `{partition}`: {:.0}% of a partition's 1,000",
                100.0 * rate / PARTITION_WRITE_LIMIT
            )
        },
    );
    (shown.join("; "), at_rate)
}

/// Dollars per million messages: DynamoDB writes + reads + SQS + streams
/// = total.
fn dollars(phase: &Phase) -> String {
    let cost = Cost::of(phase);
    format!(
        "${:.2} + ${:.2} + ${:.2} + ${:.2} = **${:.2}**",
        cost.writes,
        cost.reads,
        cost.sqs,
        cost.streams,
        cost.total()
    )
}

/// How the large table was filled, and the busiest key over all those
/// creates: a sample large enough that the share is the spread's, not chance's.
fn seeding(seeding: &Seeding) -> String {
    let seeded = seeding
        .usage
        .writes
        .iter()
        .filter(|write| write.target == "table")
        .count();
    let mut text = format!(
        "List pages. The large table was filled in bursts of 100 with the worker stopped: {} messages in the table of the {} wanted, {} of them sent in {:.0} s ({:.0} a second on moto).",
        thousands(seeding.reached),
        thousands(seeding.wanted),
        thousands(seeded),
        seeding.elapsed.as_secs_f64(),
        seeded as f64 / seeding.elapsed.as_secs_f64().max(0.001),
    );
    if let Some(error) = &seeding.stopped_by {
        let _ = write!(text, " Seeding stopped at a failed burst: {error}.");
    }
    let keys = seeding.usage.busiest_keys();
    if let Some(busiest) = keys.first().filter(|_| seeded > 0) {
        let values = keys
            .iter()
            .filter(|key| key.target == busiest.target)
            .count();
        let _ = write!(
            text,
            " Those creates took {:.2} write units a message; the busiest key, {} `{}`, was written by {:.2}% of them (the {values} values of its key written share {:.2}% each on average), {:.3} units a message: {:.0} units/s at 10,000 messages a second.",
            seeding.usage.write_units() as f64 / seeded as f64,
            busiest.target,
            busiest.partition,
            100.0 * busiest.items as f64 / seeded as f64,
            100.0 / values as f64,
            busiest.units as f64 / seeded as f64,
            busiest.units as f64 / seeded as f64 * JUDGED_RATE,
        );
    }
    text
}

/// One row of the per-message table: a label and a cell per phase.
fn row(text: &mut String, label: &str, phases: &[Phase], cell: impl Fn(&Phase) -> String) {
    let cells: Vec<String> = phases.iter().map(cell).collect();
    let _ = writeln!(text, "| {label} | {} |", cells.join(" | "));
}

/// A list's median latency, and the pages the web did not answer.
fn latency(list: &ListRun) -> String {
    let refused = match list.refused.as_slice() {
        [] => String::new(),
        statuses => format!(", {} not answered: {statuses:?}", statuses.len()),
    };
    match list.p50 {
        Some(p50) => format!("{:.0} ms ({} requests{refused})", ms(p50), list.pages),
        None => format!("none answered ({} requests{refused})", list.pages),
    }
}

/// One row of the list table: a label and a cell per list run of `query`.
fn list_row(text: &mut String, label: &str, lists: &[&ListRun], cell: impl Fn(&ListRun) -> String) {
    let cells: Vec<String> = lists.iter().map(|list| cell(list)).collect();
    let _ = writeln!(text, "| {label} | {} |", cells.join(" | "));
}

/// The whole section.
pub fn markdown(results: &CapacityResults) -> String {
    // Writing to a String cannot fail: the `let _ =` below drop an Ok.
    let mut text = String::new();
    let _ = writeln!(
        text,
        "### Capacity and cost on DynamoDB and SQS (modelled from the requests on moto)\n"
    );
    let _ = writeln!(
        text,
        "The table as `DescribeTable` gives it: {}. Each message's body: {} bytes.\n",
        results.layout.join("; "),
        thousands(results.body_bytes)
    );
    let _ = writeln!(
        text,
        "{}",
        super::goals::markdown(&super::goals::judge(results))
    );
    let phases = &results.phases;
    let header: Vec<String> = phases
        .iter()
        .map(|phase| {
            format!(
                "{} ({} messages)",
                phase.sending.name(),
                thousands(phase.messages)
            )
        })
        .collect();
    let _ = writeln!(text, "| per message | {} |", header.join(" | "));
    let _ = writeln!(text, "|---|{}", "---|".repeat(phases.len()));
    row(&mut text, "AWS requests, web + worker", phases, |phase| {
        per_message(&phase.requests, phase.messages)
    });
    row(
        &mut text,
        "SQS requests as billed (64 KB chunks)",
        phases,
        |phase| {
            format!(
                "{:.2}",
                phase.usage.sqs_billed_requests as f64 / phase.messages as f64
            )
        },
    );
    row(
        &mut text,
        "DynamoDB Streams reads (`GetRecords`, the counts' folds)",
        phases,
        |phase| {
            format!(
                "{:.3}",
                phase.usage.stream_reads as f64 / phase.messages as f64
            )
        },
    );
    row(&mut text, "DynamoDB write units", phases, |phase| {
        write_units(&phase.usage, phase.messages as f64)
    });
    row(
        &mut text,
        "of which conditional writes refused (charged on the table)",
        phases,
        |phase| {
            format!(
                "{:.2}",
                phase.usage.failed_conditions() as f64 / phase.messages as f64
            )
        },
    );
    row(&mut text, "DynamoDB read units", phases, |phase| {
        read_units(&phase.usage.read_units, phase.messages as f64)
    });
    row(&mut text, "busiest partition key values", phases, |phase| {
        busiest(phase).0
    });
    row(
        &mut text,
        "the busiest at 10,000 messages a second",
        phases,
        |phase| busiest(phase).1,
    );
    row(
        &mut text,
        "dollars per million messages: DynamoDB writes + reads + SQS + streams",
        phases,
        dollars,
    );
    row(
        &mut text,
        "wall time on moto, send to all final",
        phases,
        |phase| format!("{:.1} s", phase.elapsed.as_secs_f64()),
    );
    let rejected: u64 = phases.iter().map(|phase| phase.usage.rejected_writes).sum();
    if rejected > 0 {
        let _ = writeln!(
            text,
            "\n{rejected} DynamoDB writes were refused for another reason than their condition (not charged)."
        );
    }

    if let Some(why) = &results.stopped_by {
        let _ = writeln!(text, "\n**The run stopped here: {why}.**\n");
        return text;
    }
    let _ = writeln!(text, "\n{}\n", seeding(&results.seeding));
    let mut queries: Vec<&str> = Vec::new();
    for list in &results.lists {
        if !queries.contains(&list.query) {
            queries.push(list.query);
        }
    }
    let sizes: Vec<usize> = results
        .lists
        .iter()
        .filter(|list| Some(&list.query) == queries.first())
        .map(|list| list.in_table)
        .collect();
    let header: Vec<String> = sizes
        .iter()
        .map(|size| format!("{} messages in the table", thousands(*size)))
        .collect();
    let _ = writeln!(text, "| `GET /api/messages?…` | {} |", header.join(" | "));
    let _ = writeln!(text, "|---|{}", "---|".repeat(sizes.len()));
    for query in queries {
        let lists: Vec<&ListRun> = results
            .lists
            .iter()
            .filter(|list| list.query == query)
            .collect();
        list_row(
            &mut text,
            &format!("`{query}`: p50 on moto"),
            &lists,
            latency,
        );
        list_row(
            &mut text,
            &format!("`{query}`: AWS requests a page"),
            &lists,
            |list| per_message(&list.requests, list.pages),
        );
        list_row(
            &mut text,
            &format!("`{query}`: read units a page"),
            &lists,
            |list| read_units(&list.usage.read_units, list.pages as f64),
        );
        list_row(
            &mut text,
            &format!("`{query}`: items on the page"),
            &lists,
            |list| list.items.to_string(),
        );
    }
    let _ = writeln!(
        text,
        "\nScenario time: {:.0} s. Reading these figures:\n",
        results.elapsed.as_secs_f64()
    );
    let _ = writeln!(text, "{READING}");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
