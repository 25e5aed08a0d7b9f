-- The rows of one order: a whole-table scan returning a handful of rows.
SELECT l_linenumber, l_partkey, l_quantity, l_shipdate
FROM lineitem
WHERE l_orderkey = 4000000
ORDER BY l_linenumber;
