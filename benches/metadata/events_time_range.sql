-- First query of a fresh process over the events lake (benches/events/generate.py):
-- a ten-minute time range, which statistics prune to one file of 1,000.
SELECT count(*) AS n, count(DISTINCT user_id) AS users FROM ev WHERE ts >= TIMESTAMP '2026-01-15 12:00:00' AND ts < TIMESTAMP '2026-01-15 12:10:00';
