-- Point lookup of one user over the events lake's ndjson files (3 rows; benches/events/README.md).
SELECT * FROM ev_ndjson WHERE user_id = 1973567;
