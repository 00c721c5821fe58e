-- Who may do what in the central database. Run once, as a superuser, in the
-- database the collectors write (see docs/central.md). Set each password
-- apart, e.g. with psql's \password ROLE: never in this file or a command line.

-- Collectors write: they create and migrate the tables, and make each month's
-- partitions as sessions of a new month arrive.
CREATE ROLE biofeedback_collector LOGIN;
GRANT USAGE, CREATE ON SCHEMA public TO biofeedback_collector;

-- Reviewers (therapists, researchers) only read: `biofeedback review/history
-- --db postgresql://biofeedback_reviewer@HOST/DB`.
CREATE ROLE biofeedback_reviewer LOGIN;
GRANT USAGE ON SCHEMA public TO biofeedback_reviewer;
ALTER DEFAULT PRIVILEGES FOR ROLE biofeedback_collector IN SCHEMA public
    GRANT SELECT ON TABLES TO biofeedback_reviewer;
