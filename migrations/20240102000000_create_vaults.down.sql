drop table if exists public.vaults;
