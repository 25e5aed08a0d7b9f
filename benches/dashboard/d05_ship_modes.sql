-- Dashboard tile: high and low priority lines per ship mode (TPC-H Q12 shape).
SELECT l_shipmode,
       sum(CASE WHEN o_orderpriority IN ('1-URGENT', '2-HIGH') THEN 1 ELSE 0 END) AS high_lines,
       sum(CASE WHEN o_orderpriority NOT IN ('1-URGENT', '2-HIGH') THEN 1 ELSE 0 END) AS low_lines
FROM tpch.orders JOIN tpch.lineitem ON o_orderkey = l_orderkey
WHERE l_receiptdate >= DATE '1994-01-01' AND l_receiptdate < DATE '1995-01-01'
  AND l_commitdate < l_receiptdate AND l_shipdate < l_commitdate
GROUP BY l_shipmode
ORDER BY l_shipmode;
