-- alert_summary: alerts per local day, kind (market | weather) and rule. Athena (Trino) and DuckDB.
-- Delivery is at least once: keep one row per alert_id.
WITH alerts_once AS (
    SELECT kind, "key", rule, local_day, ts
    FROM (
        SELECT a.*,
               row_number() OVER (PARTITION BY alert_id ORDER BY ts) AS copy_rank
        FROM barometer.alerts a
        WHERE dt BETWEEN '${first_dt}' AND '${last_dt}'
          AND local_day BETWEEN '${first_day}' AND '${last_day}'
    ) copies
    WHERE copy_rank = 1
)
SELECT local_day AS "day",
       kind,
       rule,
       CAST(count(*) AS BIGINT) AS alerts,
       CAST(count(DISTINCT "key") AS BIGINT) AS keys_affected,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM alerts_once
GROUP BY local_day, kind, rule
ORDER BY "day", kind, rule
