-- The Glue database that holds the GuardDuty tables (the name is a checked identifier).
CREATE DATABASE IF NOT EXISTS {{database}}
