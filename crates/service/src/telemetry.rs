//! Logging, and the traces it shares its spans with. Text for a person at a
//! terminal; one JSON object per line with `LOG_FORMAT=json`, which
//! CloudWatch Logs Insights can query field by field, with `trace_id` and
//! `span_id` on every line written inside a traced span. `RUST_LOG` filters
//! the lines as usual (default `info`); the traces have a filter of their own
//! ([`TRACED`]), so quieter logs never leave a trace with holes. Traces:
//! `traces.rs`.

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

use crate::env::{EnvError, Setting, Vars};
use crate::traces::{self, TraceSettings};

/// The spans traced, whatever `RUST_LOG` logs: every span at `info` and
/// above, which is every span of the app's own (requests, sends, deliveries).
pub const TRACED: &str = "info";

/// `RUST_LOG` and `LOG_FORMAT`, and the tracing settings.
pub fn settings() -> Vec<Setting> {
    let mut settings = vec![
        Setting::new("RUST_LOG", "what is logged")
            .accepts("a log filter such as info or info,worker=debug")
            .default_is("info"),
        Setting::new("LOG_FORMAT", "how log lines are written")
            .accepts("json (one JSON object per line, for CloudWatch Logs), or text")
            .default_is("text"),
    ];
    settings.extend(traces::settings());
    settings
}

/// Installs the global subscriber of `binary`: its logs, and its traces when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Safe to call more than once (tests
/// and the local launcher build several apps in one process): later calls
/// do nothing. A `RUST_LOG` that is not a filter is an error, like any other
/// bad setting.
pub fn init(vars: &Vars, binary: &str) -> Result<(), EnvError> {
    let filter = match vars.var("RUST_LOG")? {
        None => EnvFilter::new("info"),
        Some(value) => EnvFilter::try_new(&value).map_err(|error| EnvError {
            name: "RUST_LOG".to_owned(),
            value,
            expected: format!(
                "it must be a log filter such as info or info,worker=debug ({error})"
            ),
        })?,
    };
    let json = vars
        .var("LOG_FORMAT")?
        .is_some_and(|format| format.eq_ignore_ascii_case("json"));
    let provider = TraceSettings::from_vars(vars, binary)?.provider()?;
    install(filter, json, provider);
    Ok(())
}

/// Installs a subscriber that logs as text at `info` and sends every span
/// to `provider`: for tests that read the spans they make. False when a
/// subscriber is already installed.
pub fn init_with_traces(provider: SdkTracerProvider) -> bool {
    install(EnvFilter::new("info"), false, Some(provider))
}

fn install(filter: EnvFilter, json: bool, provider: Option<SdkTracerProvider>) -> bool {
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("web-worker"))
            // Per span, each of these is work and attributes nobody reads:
            // the source file and line, the thread, and busy and idle times
            // (two clock reads on every poll of a traced future).
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(EnvFilter::new(TRACED))
    });
    let lines = if json {
        fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(WithTraceIds(fmt::format().json().with_current_span(false)))
            .boxed()
    } else {
        fmt::layer().boxed()
    };
    let installed = tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(spans)
        .try_init()
        .is_ok();
    // Only the installed subscriber's provider is kept, and shut down at exit.
    if installed && let Some(provider) = provider {
        traces::keep(provider);
    }
    installed
}

/// The JSON line of each event, with the ids of the trace and span it was
/// written in, so that a log line leads to its trace.
struct WithTraceIds(Format<Json>);

impl<S, N> FormatEvent<S, N> for WithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut line = String::new();
        self.0
            .format_event(context, Writer::new(&mut line), event)?;
        // The span entered is the OpenTelemetry context's current one.
        let current = opentelemetry::Context::current();
        let ids = current.span().span_context().clone();
        let object = line.trim_end();
        match object.strip_suffix('}') {
            Some(open) if ids.is_valid() => writeln!(
                writer,
                "{open},\"trace_id\":\"{}\",\"span_id\":\"{}\"}}",
                ids.trace_id(),
                ids.span_id()
            ),
            _ => writer.write_str(&line),
        }
    }
}

/// `error` and each of its causes on one line, `outer: inner: innermost`,
/// for a log.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use opentelemetry::trace::TraceContextExt;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SpanData, SpanExporter};
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    use super::*;

    /// Spans made and dropped: this test reads the log lines.
    #[derive(Debug)]
    struct Discard;

    impl SpanExporter for Discard {
        fn export(&self, _: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
            std::future::ready(Ok(()))
        }
    }

    /// The log lines, kept.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_json_line_written_in_a_traced_span_names_its_trace_and_span() {
        let provider = traces::provider_with(Discard, "test");
        let lines = Lines::default();
        let written = lines.clone();
        let subscriber = tracing_subscriber::registry()
            .with(
                fmt::layer()
                    .fmt_fields(JsonFields::new())
                    .event_format(WithTraceIds(fmt::format().json().with_current_span(false)))
                    .with_writer(move || written.clone()),
            )
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        let ids = tracing::subscriber::with_default(subscriber, || {
            tracing::info!(n = 1, "outside any span");
            let span = tracing::info_span!("a request");
            let _entered = span.enter();
            tracing::info!(n = 2, "inside it");
            span.context().span().span_context().clone()
        });
        let text = String::from_utf8(lines.0.lock().expect("lock").clone()).expect("UTF-8");
        let parsed: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
            .collect();
        assert_eq!(parsed.len(), 2, "{text}");
        assert_eq!(parsed[0].get("trace_id"), None, "no span, no trace: {text}");
        assert_eq!(parsed[1]["trace_id"], ids.trace_id().to_string(), "{text}");
        assert_eq!(parsed[1]["span_id"], ids.span_id().to_string(), "{text}");
        assert_eq!(
            parsed[1]["fields"]["n"], 2,
            "the line is otherwise as it was: {text}"
        );
    }
}
