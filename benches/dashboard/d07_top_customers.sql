-- Dashboard tile: the ten customers with the most revenue in a quarter.
SELECT c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue
FROM tpch.customer
JOIN tpch.orders ON c_custkey = o_custkey
JOIN tpch.lineitem ON l_orderkey = o_orderkey
WHERE o_orderdate >= DATE '1994-10-01' AND o_orderdate < DATE '1995-01-01'
GROUP BY c_name
ORDER BY revenue DESC, c_name
LIMIT 10;
