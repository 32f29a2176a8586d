-- evictd demo shop schema. Plain SQL, safe to run more than once (also used as a Postgres init script).

CREATE TABLE IF NOT EXISTS categories (
  id   integer PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100)
);

CREATE TABLE IF NOT EXISTS products (
  id          integer PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  description text NOT NULL DEFAULT '',
  price       numeric(10, 2) NOT NULL CHECK (price >= 0),
  category_id integer NOT NULL REFERENCES categories (id)
);

CREATE INDEX IF NOT EXISTS products_category_id_idx ON products (category_id);

-- The rules tag product changes with category:{category_id}. With the default replica identity
-- Postgres logs only the primary key of the old row, so when a product moves to another category
-- evictd could not know the OLD category and that category's cached list would stay stale.
-- FULL logs the whole old row, so both category:<old> and category:<new> are invalidated.
ALTER TABLE products REPLICA IDENTITY FULL;
