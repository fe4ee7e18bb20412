"""Sampling belongs at the edge: nothing is recorded without an exporter, callers' decisions
are followed, new traces are sampled at OTEL_TRACES_SAMPLER_ARG."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from mesh.settings import SettingsError
from mesh.tracing import sampler_for, trace_sample_ratio

ENDPOINT = "http://collector:4317"


def _recorded(provider: TracerProvider, parent_sampled: bool | None = None) -> tuple[bool, bool]:
    """(whether the span records, whether it has valid ids), seen while it is open."""
    context = None
    if parent_sampled is not None:
        flags = TraceFlags(TraceFlags.SAMPLED if parent_sampled else TraceFlags.DEFAULT)
        parent = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=flags)
        context = trace.set_span_in_context(NonRecordingSpan(parent))
    with provider.get_tracer("test").start_as_current_span("call", context=context) as span:
        return span.is_recording(), span.get_span_context().is_valid


def test_without_an_exporter_nothing_is_recorded_but_ids_are_given() -> None:
    assert _recorded(TracerProvider(sampler=sampler_for(None)), parent_sampled=True) == (
        False,
        True,
    )


@pytest.mark.parametrize("parent_sampled", [True, False])
def test_with_an_exporter_the_callers_decision_is_followed(parent_sampled: bool) -> None:
    provider = TracerProvider(
        sampler=sampler_for(ENDPOINT, sample_ratio=0.0 if parent_sampled else 1.0)
    )
    assert _recorded(provider, parent_sampled)[0] is parent_sampled


@pytest.mark.parametrize(("ratio", "recorded"), [(1.0, True), (0.0, False)])
def test_new_traces_are_sampled_at_the_ratio(ratio: float, recorded: bool) -> None:
    provider = TracerProvider(sampler=sampler_for(ENDPOINT, sample_ratio=ratio))
    assert _recorded(provider)[0] is recorded


def test_the_ratio_comes_from_the_standard_variable_and_errors_name_it() -> None:
    assert trace_sample_ratio({}) == 1.0
    assert trace_sample_ratio({"OTEL_TRACES_SAMPLER_ARG": "0.25"}) == 0.25
    for bad in ("2", "-0.5", "often"):
        with pytest.raises(SettingsError, match="OTEL_TRACES_SAMPLER_ARG"):
            trace_sample_ratio({"OTEL_TRACES_SAMPLER_ARG": bad})
