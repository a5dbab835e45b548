//! W3C trace context (`traceparent`) across the outbox.
//!
//! When OpenTelemetry tracing is on (`api::telemetry`), [`crate::outbox::enqueue`]
//! stores the `traceparent` of the current span (the request's, or the job's
//! when a job enqueues another) in `outbox_jobs.trace_context`; the runner
//! makes the job's span a child of it, so a trace shows the request and the
//! work it caused, whichever process and however much later it ran. The queue
//! carries only the job id: the row it claims holds the context.
//!
//! Without a tracing layer (no `OTEL_EXPORTER_OTLP_ENDPOINT`) the current span
//! has no OpenTelemetry context: [`current`] is `None` and nothing is stored.

use std::collections::HashMap;

use opentelemetry::{Context, propagation::TextMapPropagator, trace::TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

const TRACEPARENT: &str = "traceparent";

/// The `traceparent` of the current span, if it belongs to a trace.
pub fn current() -> Option<String> {
    of(&tracing::Span::current().context())
}

/// The `traceparent` of an OpenTelemetry context, if it holds a valid span.
pub fn of(cx: &Context) -> Option<String> {
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(cx, &mut carrier);
    // Only the `traceparent`: a `tracestate` is vendor data the job does not need.
    carrier.remove(TRACEPARENT)
}

/// The context a `traceparent` names, or `None` when it is malformed.
pub fn parse(traceparent: &str) -> Option<Context> {
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    cx.span().span_context().is_valid().then_some(cx)
}

/// Makes `span` a child of the span a stored `traceparent` names. Does
/// nothing when the value is malformed or no tracing layer is installed.
pub fn set_parent(span: &tracing::Span, traceparent: &str) {
    if let Some(cx) = parse(traceparent) {
        let _ = span.set_parent(cx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_traceparent_round_trips() {
        let cx = parse(SAMPLE).expect("valid");
        assert_eq!(of(&cx).as_deref(), Some(SAMPLE));
    }

    #[test]
    fn malformed_values_and_no_trace_give_nothing() {
        assert!(parse("00-not-a-trace").is_none());
        assert!(parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
        assert!(of(&Context::new()).is_none());
        // No tracing layer in unit tests: the current span has no context.
        assert!(current().is_none());
    }
}
