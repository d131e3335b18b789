-- The event store's schema: the first migration (migrate.sh applies each file once, in name order).
-- Written so that it may also run where no migration runner exists (a platform that mounts it
-- as an init script: the seeds' dev stack), and so that a second run changes nothing.
CREATE TABLE IF NOT EXISTS events (
	event_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	-- One OrderPlaced event per order: a redelivered command cannot write twice.
	order_id     uuid NOT NULL UNIQUE,
	type         text NOT NULL,
	payload      jsonb NOT NULL,
	processed_by text,
	created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS orders (
	order_id     uuid PRIMARY KEY,
	customer_id  text NOT NULL,
	items        jsonb NOT NULL,
	total        numeric NOT NULL,
	status       text NOT NULL,
	processed_by text,
	updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The services' login role reads and writes the tables; it owns nothing (migrate.sh names it).
\if :{?app_user}
GRANT SELECT, INSERT, UPDATE ON events, orders TO :"app_user";
\endif
