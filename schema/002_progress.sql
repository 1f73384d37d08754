-- 002: progress samples, so that status can tell items/s over the last 1, 5
-- and 15 minutes without counting anything.  A run writes one row about
-- every 10 s (finished = done + failed at that moment) and drops rows older
-- than an hour.
CREATE TABLE progress (
  at       INTEGER PRIMARY KEY,   -- ms since the epoch
  finished INTEGER NOT NULL
);

-- Early crawl files counted inserts with a trigger; trawl counts them itself
-- now.  Drop it where it exists and count once, so the counts are right.
DROP TRIGGER IF EXISTS items_count_insert;
UPDATE item_counts SET n = (SELECT count(*) FROM items WHERE items.state = item_counts.state);
