-- Topic names sort byte by byte (the "C" collation), as Kafka's own tools list them, whatever
-- locale the database was created with: the catalog's pages, their keyset bounds and the
-- server's in-memory topic index (`app::catalog::index`) then agree on one order everywhere.
alter table topic alter column name type text collate "C";

-- The search still folds case by the database's own rules (the "C" collation folds ASCII
-- only), so its expression names that collation; the query repeats the expression exactly.
drop index topic_search_trgm_idx;
create index topic_search_trgm_idx on topic using gin (
    ((name collate "default") || ' ' || title || ' ' || description) gin_trgm_ops);
