-- Dashboard tile with a changing filter: parts whose revenue exceeds the
-- threshold picked in the dashboard (the 500000 varies). Revenue per part
-- is shared.
SELECT count(*) AS parts, sum(revenue) AS revenue
FROM (
    SELECT l_partkey, sum(l_extendedprice * (1 - l_discount)) AS revenue
    FROM tpch.lineitem
    GROUP BY l_partkey
) AS part_revenue
WHERE revenue > 500000;
