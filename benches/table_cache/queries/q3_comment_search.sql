-- A string predicate on the widest column, grouped by ship mode.
SELECT l_shipmode, count(*) AS n, avg(l_quantity) AS avg_qty
FROM lineitem
WHERE l_comment LIKE '%special%'
GROUP BY l_shipmode
ORDER BY l_shipmode;
