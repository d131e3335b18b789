"""Order command publisher: pika from one dedicated thread.

pika's BlockingConnection blocks and is not thread-safe, so every call to it runs in a
single-thread executor and the event loop only awaits the futures.
"""
import asyncio
from concurrent.futures import ThreadPoolExecutor

import pika
from pika.exceptions import AMQPError


class Publisher:
    def __init__(self, url, queue, timeout, persistent=True):
        self._params = pika.URLParameters(url)
        self._params.connection_attempts = 1
        self._params.socket_timeout = timeout
        self._params.stack_timeout = timeout
        self._params.blocked_connection_timeout = timeout
        self._queue = queue
        self._delivery_mode = pika.spec.PERSISTENT_DELIVERY_MODE if persistent else pika.spec.TRANSIENT_DELIVERY_MODE
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="amqp")
        self._connection = None
        self._channel = None

    async def publish(self, message_id, body, correlation_id=None):
        """Publish a command (persistent unless configured otherwise); returns once the broker has confirmed it.

        The request's correlation id travels as the message's `correlation_id` property.
        """
        await self._run(self._publish, message_id, body, correlation_id)

    async def check(self):
        """Prove the connection usable: the command queue answers a passive declare."""
        await self._run(self._check)

    async def close(self):
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown()

    async def _run(self, fn, *args):
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self._executor, self._call, fn, *args)
        # Confirms can stall (broker blocked, peer gone): bound the wait for the caller.
        await asyncio.wait_for(call, 2 * self._timeout)

    def _call(self, fn, *args):
        # An idle connection may have been dropped by the broker (restart, missed heartbeats
        # while idle); one retry on a fresh connection tells that apart from a broker that
        # is down.
        while True:
            fresh = self._channel is None
            try:
                return fn(self._open_channel(), *args)
            except (AMQPError, OSError):
                self._close()
                if fresh:
                    raise

    def _open_channel(self):
        if self._channel is None or self._channel.is_closed:
            self._close()
            self._connection = pika.BlockingConnection(self._params)
            channel = self._connection.channel()
            channel.confirm_delivery()
            channel.queue_declare(self._queue, durable=True)
            self._channel = channel
        return self._channel

    def _publish(self, channel, message_id, body, correlation_id):
        channel.basic_publish(
            exchange="",
            routing_key=self._queue,
            body=body,
            properties=pika.BasicProperties(
                content_type="application/json",
                delivery_mode=self._delivery_mode,
                message_id=message_id,
                correlation_id=correlation_id,
            ),
            mandatory=True,
        )

    def _check(self, channel):
        channel.queue_declare(self._queue, passive=True)

    def _close(self):
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (AMQPError, OSError):
                pass
