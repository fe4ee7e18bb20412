"""Rating changes as `shop.events.v1.Event` envelopes (topic shop.review.events).

The aggregate of a review event is the product's set of reviews: `aggregate_id` is the
product id (the Kafka key, so a product's events stay in order) and `aggregate_version` the
change's position in the product's rating ledger, which consumers compare to drop stale
rating summaries.
"""

from __future__ import annotations

from google.protobuf import message
from shop.events.v1 import events_pb2

from mesh.events import Event, new_event

from ..domain.model import ChangeKind, RatingChange
from .protos import review_to_proto, summary_to_proto

PRODUCER = "review"
AGGREGATE_TYPE = "review"


def encode_event(change: RatingChange) -> bytes:
    """What the store records with a change: its envelope, serialized."""
    return event_for(change).SerializeToString()


def event_for(change: RatingChange) -> Event:
    """The envelope of `change`, built in the request's context (it carries the trace)."""
    event = new_event(
        _payload(change),
        aggregate_type=AGGREGATE_TYPE,
        aggregate_id=change.product_id,
        aggregate_version=change.version,
        producer=PRODUCER,
        occurred_at=change.occurred_at,
    )
    # The change's id, so every redelivery of it carries the same event id.
    event.event_id = change.event_id
    return event


def _payload(change: RatingChange) -> message.Message:
    review, summary = review_to_proto(change.review), summary_to_proto(change.summary)
    if change.kind is ChangeKind.CREATED:
        return events_pb2.ReviewCreated(review=review, rating_summary=summary)
    return events_pb2.ReviewDeleted(review=review, rating_summary=summary)
