"""Mutant order service (ROLLOUT-010): it acknowledges each command before it writes it.

The reference service's own code, with its `handle` replaced: a worker stopped between the
ack and the commit loses that order (the broker has forgotten it, the event store never got it).
"""
import main

_parse, _record = main.parse_command, main.record


def handle(db, channel, method, properties, body):
    channel.basic_ack(method.delivery_tag)
    try:
        _record(db, *_parse(body))
    except (ValueError, KeyError, TypeError, main.psycopg.DataError, main.psycopg.IntegrityError) as exc:
        main.log.error("dropping command", extra={"fields": {"detail": repr(exc)}})


main.handle = handle
main.main()
