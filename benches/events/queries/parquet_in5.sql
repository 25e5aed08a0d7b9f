-- Lookup of five users over the events lake's parquet files (29 rows; benches/events/README.md).
SELECT * FROM ev_parquet WHERE user_id IN (1973567, 598633, 4359151, 970784, 3739204);
