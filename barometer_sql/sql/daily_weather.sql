-- daily_weather: one row per city and city-local day. Runs unchanged on Athena (Trino) and DuckDB.
-- precip_mm sums the observations' precipitation (each observation carries what fell since the last).
WITH weather_once AS (
    SELECT city, local_day, temp_c, precip_mm, wind_mps
    FROM (
        SELECT w.*,
               row_number() OVER (PARTITION BY event_id ORDER BY ingested_at NULLS LAST) AS copy_rank
        FROM barometer.weather w
        WHERE dt BETWEEN '${first_dt}' AND '${last_dt}'
          AND local_day BETWEEN '${first_day}' AND '${last_day}'
    ) copies
    WHERE copy_rank = 1
)
SELECT city,
       local_day AS "day",
       min(temp_c) AS temp_min_c,
       max(temp_c) AS temp_max_c,
       avg(temp_c) AS temp_avg_c,
       CAST(coalesce(sum(precip_mm), 0) AS DOUBLE) AS precip_mm,
       max(wind_mps) AS max_wind_mps,
       CAST(count(*) AS BIGINT) AS observations
FROM weather_once
GROUP BY city, local_day
ORDER BY city, "day"
