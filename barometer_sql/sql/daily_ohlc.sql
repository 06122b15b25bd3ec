-- daily_ohlc: one row per symbol and exchange-local day. Runs unchanged on Athena (Trino) and DuckDB.
-- The lake is written at least once: keep one row per event_id (the earliest ingested copy).
WITH quotes_once AS (
    SELECT symbol, local_day, ts, event_id, price, volume
    FROM (
        SELECT q.*,
               row_number() OVER (PARTITION BY event_id ORDER BY ingested_at NULLS LAST) AS copy_rank
        FROM barometer.quotes q
        WHERE dt BETWEEN '${first_dt}' AND '${last_dt}'
          AND local_day BETWEEN '${first_day}' AND '${last_day}'
    ) copies
    WHERE copy_rank = 1
),
ranked AS (
    SELECT symbol, local_day, price, volume,
           row_number() OVER (PARTITION BY symbol, local_day ORDER BY ts, event_id) AS rank_first,
           row_number() OVER (PARTITION BY symbol, local_day ORDER BY ts DESC, event_id DESC) AS rank_last
    FROM quotes_once
)
SELECT symbol,
       local_day AS "day",
       max(CASE WHEN rank_first = 1 THEN price END) AS "open",
       max(price) AS high,
       min(price) AS low,
       max(CASE WHEN rank_last = 1 THEN price END) AS "close",
       CAST(coalesce(sum(volume), 0) AS BIGINT) AS volume,
       CAST(count(*) AS BIGINT) AS trades
FROM ranked
GROUP BY symbol, local_day
ORDER BY symbol, "day"
