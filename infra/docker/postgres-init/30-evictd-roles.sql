-- Least-privileged roles and the publication for evictd, run by the database owner after the demo
-- schema (docker-compose.yml mounts it as /docker-entrypoint-initdb.d/30-evictd-roles.sql; the
-- postgres image runs it with psql as POSTGRES_USER in POSTGRES_DB, ON_ERROR_STOP on).
-- The same steps a DBA takes next to an existing database: see docs/operators-guide.md.
--
-- Environment (psql reads it with \getenv, so no password is written in this file):
--   EVICTD_DB_PASSWORD  required   password of the evictd role
--   APP_DB_PASSWORD     required   password of the demo API's role
--   EVICTD_DB_USER      default evictd, EVICTD_PUBLICATION default evictd, APP_DB_USER default app

\set ON_ERROR_STOP on

\getenv evictd_password EVICTD_DB_PASSWORD
\getenv app_password APP_DB_PASSWORD
\getenv evictd_user EVICTD_DB_USER
\getenv app_user APP_DB_USER
\getenv publication EVICTD_PUBLICATION
\if :{?evictd_user}
\else
  \set evictd_user evictd
\endif
\if :{?app_user}
\else
  \set app_user app
\endif
\if :{?publication}
\else
  \set publication evictd
\endif
\if :{?evictd_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'EVICTD_DB_PASSWORD is not set: give the postgres container the password of the evictd role'; END $$;
\endif
\if :{?app_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'APP_DB_PASSWORD is not set: give the postgres container the password of the demo API role'; END $$;
\endif

-- evictd: LOGIN + REPLICATION (to create and read its logical slot) and SELECT on the published
-- tables; no superuser, no table ownership. Because it owns nothing, it cannot create the
-- publication: the owner does it below, and evictd runs with postgres.createPublication: false.
CREATE ROLE :"evictd_user" LOGIN REPLICATION PASSWORD :'evictd_password';
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'evictd_user') \gexec
GRANT USAGE ON SCHEMA public TO :"evictd_user";
GRANT SELECT ON public.products, public.categories TO :"evictd_user";

-- The publication lists exactly the tables of the rules (infra/docker/evictd.yaml `tables`).
CREATE PUBLICATION :"publication" FOR TABLE public.products, public.categories;

-- The demo API: reads and edits the shop, nothing else.
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'app_user') \gexec
GRANT USAGE ON SCHEMA public TO :"app_user";
GRANT SELECT, INSERT, UPDATE, DELETE ON public.products, public.categories TO :"app_user";
