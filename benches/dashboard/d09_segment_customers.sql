-- Dashboard tile with a changing filter: the best customers of the market
-- segment picked in the dashboard (c_mktsegment varies). Spending per
-- customer (a join of orders and line items, aggregated) is shared.
WITH spending AS (
    SELECT o_custkey, sum(l_extendedprice * (1 - l_discount)) AS spent, count(DISTINCT o_orderkey) AS orders
    FROM tpch.orders JOIN tpch.lineitem ON l_orderkey = o_orderkey
    GROUP BY o_custkey
)
SELECT c_name, spent, orders
FROM spending JOIN tpch.customer ON o_custkey = c_custkey
WHERE c_mktsegment = 'BUILDING'
ORDER BY spent DESC, c_name
LIMIT 20;
