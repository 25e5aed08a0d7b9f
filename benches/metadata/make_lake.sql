-- A 1,000-file Parquet lake for the metadata-cache benchmark (benches/RESULTS.md,
-- "Metadata cache"): 1,000 files of 1,000 rows in ./flat/, written by one stream
-- that starts a new file every 1,000 rows. Run: tarn lake.tarn -f benches/metadata/make_lake.sql
SET datafusion.execution.soft_max_rows_per_output_file = 1000;
SET datafusion.execution.minimum_parallel_output_files = 1;
SET datafusion.execution.target_partitions = 1;
SET datafusion.execution.batch_size = 1000;
COPY (
  SELECT i AS id, i % 997 AS k, i * 0.5 AS v, 'name-' || (i % 100) AS s
  FROM generate_series(0, 999999) AS t(i)
) TO 'flat/' STORED AS PARQUET OPTIONS (max_row_group_size 1000);
