-- Dashboard tile: revenue per region and order year.
SELECT r_name, extract(year FROM o_orderdate) AS year, sum(l_extendedprice * (1 - l_discount)) AS revenue
FROM tpch.lineitem
JOIN tpch.orders ON l_orderkey = o_orderkey
JOIN tpch.customer ON o_custkey = c_custkey
JOIN tpch.nation ON c_nationkey = n_nationkey
JOIN tpch.region ON n_regionkey = r_regionkey
GROUP BY r_name, extract(year FROM o_orderdate)
ORDER BY r_name, year;
