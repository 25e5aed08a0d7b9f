-- Dashboard tile with a changing filter: the top suppliers of the nation
-- picked in the dashboard (n_name varies). The revenue per supplier is the
-- same whatever the nation: a sub-plan shared by every value.
WITH supplier_revenue AS (
    SELECT l_suppkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, count(*) AS lines
    FROM tpch.lineitem
    GROUP BY l_suppkey
)
SELECT s_name, revenue, lines
FROM supplier_revenue
JOIN tpch.supplier ON l_suppkey = s_suppkey
JOIN tpch.nation ON s_nationkey = n_nationkey
WHERE n_name = 'GERMANY'
ORDER BY revenue DESC, s_name
LIMIT 10;
