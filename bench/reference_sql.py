"""The RFM job written as one SQL statement over crm's own schema: the benchmark's yardstick.

Same definitions as crm-rfm, so the results must agree customer by customer:
recency = whole days from the UTC date of the last purchase to as_of; frequency = distinct orders
plus purchases without an order id; monetary = total spend in cents; score = 1 + floor(5 * w / n)
with w the number of customers with a strictly worse value (RANK() - 1); FM = floor((F + M) / 2);
the segment from the default 5 x 5 R x FM grid, as a CASE expression built from the plugin's map.
"""

from __future__ import annotations

from crm_rfm import default_segment_map


def grid_case() -> str:
    grid = default_segment_map()
    branches = []
    for r in range(1, 6):
        for fm in range(1, 6):
            name = grid.segment_at(r, fm).name.replace("'", "''")
            branches.append(f"WHEN r = {r} AND fm = {fm} THEN '{name}'")
    return "CASE " + " ".join(branches) + " END"


def rfm_statement(dialect: str, as_of: str) -> str:
    if dialect == "sqlite":
        recency = f"CAST(julianday('{as_of}') - julianday(date(last_at)) AS INTEGER)"
    else:
        recency = f"(DATE '{as_of}' - CAST(last_at AS DATE))"
    return f"""
WITH p AS (
  SELECT customer_id, MAX(occurred_at) AS last_at,
         COUNT(DISTINCT order_id) + SUM(CASE WHEN order_id IS NULL THEN 1 ELSE 0 END) AS frequency,
         SUM(amount_minor) AS monetary
  FROM interaction
  WHERE kind = 'purchase' AND occurred_at < '{as_of}'
  GROUP BY customer_id
), v AS (
  SELECT customer_id, {recency} AS recency, frequency, monetary FROM p
), s AS (
  SELECT customer_id, recency, frequency, monetary,
         1 + (5 * (RANK() OVER (ORDER BY recency DESC) - 1)) / COUNT(*) OVER () AS r,
         1 + (5 * (RANK() OVER (ORDER BY frequency) - 1)) / COUNT(*) OVER () AS f,
         1 + (5 * (RANK() OVER (ORDER BY monetary) - 1)) / COUNT(*) OVER () AS m
  FROM v
), g AS (
  SELECT customer_id, recency, frequency, monetary, r, f, m, (f + m) / 2 AS fm FROM s
)
SELECT c.external_id, recency, frequency, monetary, r, f, m, {grid_case()} AS segment
FROM g JOIN customer c ON c.id = g.customer_id
"""
