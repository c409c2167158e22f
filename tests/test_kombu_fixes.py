"""config.kombu_fixes: a channel left over from a collected broker connection raises a *connection* error
(which Celery recovers from by reconnecting), never kombu's AttributeError on ``None.hostname`` (which
Celery reports as "Unrecoverable error" and the worker exits). The message is not lost."""

from __future__ import annotations

import uuid

import pytest
from kombu import Connection, Queue

import config.celery  # noqa: F401 - applies the fix, as every hub process does

pytestmark = [pytest.mark.redis]


@pytest.fixture
def delivered(redis_server):
    """A message delivered to a consumer and not acknowledged yet (a task running when Redis went away)."""
    queue = Queue(f"kombu-fix-{uuid.uuid4().hex[:8]}")
    conn = Connection(redis_server.url, transport_options={"visibility_timeout": 1})
    with conn.Producer() as producer:
        producer.publish({"task": "x"}, routing_key=queue.name, declare=[queue])
    got = []
    channel = conn.channel()
    consumer = conn.Consumer([queue], channel=channel, callbacks=[lambda body, message: got.append(message)])
    consumer.consume()
    conn.drain_events(timeout=5)
    assert len(got) == 1
    yield conn, channel, got[0], queue
    channel.qos._on_collect.cancel()  # no second restore attempt when the test's objects are collected
    conn.release()


def _collected(conn, channel) -> tuple:
    # Celery's consumer on a lost connection: the channel's pool is gone (a half-done close or a fork)
    # and Connection.collect()/close() detach the transport (transport.client = None).
    errors = conn.transport.connection_errors
    channel._disconnect_pools()
    conn._do_close_transport()
    return errors


def test_ack_on_a_collected_connection_is_a_connection_error(delivered):
    conn, channel, message, _ = delivered
    errors = _collected(conn, channel)
    with pytest.raises(errors) as raised:
        message.ack()
    assert not isinstance(raised.value, AttributeError)


def test_late_close_restoring_unacked_is_a_connection_error_and_the_message_comes_back(delivered, redis_server):
    conn, channel, _, queue = delivered
    errors = _collected(conn, channel)
    with pytest.raises(errors):
        channel.close()  # "Restoring 1 unacknowledged message(s)" on a detached transport

    # Still in Redis' unacked hash: a live consumer restores it after the visibility timeout.
    import time

    time.sleep(1.2)
    with Connection(redis_server.url, transport_options={"visibility_timeout": 1}) as fresh:
        fresh_channel = fresh.channel()
        fresh_channel.qos.restore_visible(num=10, interval=1)
        message = fresh_channel.basic_get(queue.name)
        assert message is not None and message.payload == {"task": "x"}
