-- Dashboard tile: orders and their value per month.
SELECT date_trunc('month', o_orderdate) AS month, count(*) AS orders, sum(o_totalprice) AS value
FROM tpch.orders
GROUP BY date_trunc('month', o_orderdate)
ORDER BY month;
