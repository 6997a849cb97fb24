drop table if exists public.artifacts;
