-- Dashboard tile: pricing summary of shipped line items (TPC-H Q1 shape).
SELECT l_returnflag, l_linestatus, sum(l_quantity) AS qty, sum(l_extendedprice) AS base,
       sum(l_extendedprice * (1 - l_discount)) AS disc, avg(l_discount) AS avg_disc, count(*) AS n
FROM tpch.lineitem
WHERE l_shipdate <= DATE '1998-09-02'
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus;
