-- The event store's schema, created once at first init. A platform whose services connect
-- as the superuser (the seeds' dev stack) mounts this file alone; 20-app-role.sh adds the
-- least-privileged application role the reference platforms use.
CREATE TABLE events (
	event_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	-- One OrderPlaced event per order: a redelivered command cannot write twice.
	order_id     uuid NOT NULL UNIQUE,
	type         text NOT NULL,
	payload      jsonb NOT NULL,
	processed_by text,
	created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
	order_id     uuid PRIMARY KEY,
	customer_id  text NOT NULL,
	items        jsonb NOT NULL,
	total        numeric NOT NULL,
	status       text NOT NULL,
	processed_by text,
	updated_at   timestamptz NOT NULL DEFAULT now()
);
