-- Point lookup of one user over the events lake's parquet files (3 rows; benches/events/README.md).
SELECT * FROM ev_parquet WHERE user_id = 1973567;
