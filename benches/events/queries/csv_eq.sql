-- Point lookup of one user over the events lake's csv files (3 rows; benches/events/README.md).
SELECT * FROM ev_csv WHERE user_id = 1973567;
